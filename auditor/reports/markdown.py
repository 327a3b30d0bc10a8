"""The plan as a Markdown planning document (for an issue or a pull-request comment)."""

from __future__ import annotations

import re
from urllib.parse import quote

from auditor.plan.plan import BLOCKED, ObjectPlan, Plan
from auditor.reports.common import unanalysed_note
from auditor.reports.evidence import database_line, object_evidence, usage_per_role

# ASCII punctuation that can start markup (emphasis, links, HTML, tables); CommonMark lets a backslash
# escape any of it. "@", "/", ".", ",", ":", "-" stay as they are, and so does "_" inside a word (it cannot
# open emphasis there): mentions, paths and names read better.
_MARKUP = re.compile(r"""([\\`*{}\[\]()<>#+!|~&"'=;$%^?]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))""")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _cell(text: str) -> str:
    """Plain text from a scanned file or the catalog, safe anywhere in a line or a table cell."""
    return _MARKUP.sub(r"\\\1", _CONTROL.sub(" ", text))


def _code(text: str) -> str:
    """A code span: its text is literal; the fence is longer than any backtick run inside."""
    text = _CONTROL.sub(" ", text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    # in a table a "|" ends the cell even inside a code span (GFM); its escape is taken out again
    text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(path: str, line: int) -> str:
    """A relative link to the line: ``[path:line](./path#Lline)``; never a scheme such as `javascript:`."""
    return f"[{_cell(path)}:{line}](./{quote(path)}#L{line})"


def to_markdown(plan: Plan) -> str:
    out: list[str] = ["# Phase 3 plan: dropping the legacy compatibility views", ""]
    ready, blocked = len(plan.ready), len(plan.blocked)
    out.append(f"{ready} of {len(plan.objects)} legacy object(s) ready to drop, {blocked} blocked.")
    if plan.drop_order:
        out.append("")
        out.append("Safe drop order: " + " → ".join(_code(name) for name in plan.drop_order) + ".")
    out += ["", "## Summary", ""]
    out.append(
        "| legacy object | target | status | python | sql files | db objects | blocks | files "
        "| mechanical | needs a person | owners | drop after |"
    )
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for obj in plan.objects:
        status = "🔴 blocked" if obj.status == BLOCKED else "🟢 ready"
        out.append(
            "| "
            + " | ".join(
                (
                    _code(obj.legacy),
                    _code(obj.target) if obj.target else "–",
                    status,
                    str(obj.count("python")),
                    str(obj.count("sql-file")),
                    str(obj.count("db-object")),
                    str(len(obj.blocks)),
                    str(len(obj.files)),
                    str(obj.mechanical),
                    str(obj.manual),
                    _cell(", ".join(obj.owners)) or "–",
                    ", ".join(_code(n) for n in obj.drop_after) or "–",
                )
            )
            + " |"
        )
    if plan.database is not None:
        out += ["", *_database(plan)]
    for obj in plan.objects:
        out += ["", *_section(obj)]
        if plan.database is not None:
            out += ["", *(f"- {kind}: {_cell(text)}" for kind, text in object_evidence(plan, obj))]
    if plan.unresolved:
        out += ["", "## Table names to check by hand (LR005)", ""]
        out.append("The analyzer could not resolve these table names; check the values that reach them.")
        out.append("")
        for finding in plan.unresolved:
            out.append(f"- {_link(finding.path, finding.span.line)} in {_code(finding.block)}")
        if not plan.unresolved_accepted:
            out += ["", "Until a person has checked them (then `--accept-unresolved`), they may hold any "
                    "legacy object: none is ready to drop."]  # fmt: skip
    if plan.unanalysed:
        out += ["", "## Files not analysed", ""]
        for file in plan.unanalysed:
            out.append(f"- {_code(file.path)}: {_cell(file.kind)}: {_cell(file.message)}; "
                       f"{_cell(unanalysed_note(file))}")  # fmt: skip
    return "\n".join(out) + "\n"


def _section(obj: ObjectPlan) -> list[str]:
    out = [f"## {_code(obj.legacy)}", ""]
    target = f" → {_code(obj.target)}" if obj.target else ""
    if obj.status == BLOCKED:
        out.append(f"**Blocked**{target}: {len(obj.blockers)} blocker(s) in {len(obj.blocks)} block(s) of "
                   f"{len(obj.files)} file(s); {obj.mechanical} with a mechanical rewrite, "
                   f"{obj.manual} need a person.")  # fmt: skip
    else:
        out.append(f"**Ready to drop**{target}.")
    if obj.unanalysed:
        out += ["", "**Blocked: unanalysed files.** These files may name it but could not be analysed: "
                + ", ".join(_code(p) for p in obj.unanalysed) + "."]  # fmt: skip
    if obj.unresolved:
        out += ["", "**Blocked: unresolved table names** (LR005) may hold it; check them, then accept "
                "them with `--accept-unresolved`."]  # fmt: skip
    if obj.cycle:
        out += ["", "Its view is part of a cycle of legacy views: there is no safe order to drop them."]
    if obj.drop_after:
        out += ["", "Drop first: " + ", ".join(_code(n) for n in obj.drop_after) + "."]
    if obj.owners:
        out += ["", "Owners: " + ", ".join(obj.owners)]
    if obj.blockers:
        out += ["", "| where | kind | rule | block | confidence | via |", "|---|---|---|---|---|---|"]
        for blocker in obj.blockers:
            out.append(
                f"| {_link(blocker.path, blocker.line)} | {blocker.kind} | {blocker.finding.rule} "
                f"| {_code(blocker.block)} | {blocker.finding.confidence!s} "
                f"| {_cell(' → '.join(blocker.via))} |"
            )
        rewrites = [b for b in obj.blockers if b.finding.suggestion is not None]
        if rewrites:
            out += ["", "<details><summary>Suggested rewrites</summary>", ""]
            for blocker in rewrites:
                suggestion = blocker.finding.suggestion
                assert suggestion is not None
                tag = "" if blocker.mechanical else " (check by hand)"
                where = _link(blocker.path, blocker.line)
                out.append(f"- {where}{tag}: {_cell(suggestion.description)} Replace with "
                           f"{_code(suggestion.replacement)}")  # fmt: skip
            out += ["", "</details>"]
    if obj.history:
        places = ", ".join(f"{_cell(f.path)}:{f.span.line} {f.rule}" for f in obj.history)
        out += ["", f"Migration history (replayed before the rename, never a blocker): {places}."]
    return out


def _database(plan: Plan) -> list[str]:
    assert plan.database is not None
    out = ["## The live database", "", database_line(plan.database)]
    rows = usage_per_role(plan)
    if rows:
        out += ["", "| role | legacy view | statements | calls | rows |", "|---|---|---:|---:|---:|"]
        out += [f"| {_cell(role)} | {_code(legacy)} | {n} | {calls} | {count} |"
                for role, legacy, n, calls, count in rows]  # fmt: skip
    return out
