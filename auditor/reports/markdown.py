"""The plan as a Markdown planning document (for an issue or a pull-request comment)."""

from __future__ import annotations

from auditor.plan.plan import BLOCKED, Blocker, ObjectPlan, Plan


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(blocker: Blocker) -> str:
    """A relative link to the line: ``[path:line](path#Lline)``."""
    target = blocker.path.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{_cell(blocker.path)}:{blocker.line}]({target}#L{blocker.line})"


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
    for obj in plan.objects:
        out += ["", *_section(obj)]
    if plan.unresolved:
        out += ["", "## Table names to check by hand (LR005)", ""]
        out.append("The analyzer could not resolve these table names; check the values that reach them.")
        out.append("")
        for finding in plan.unresolved:
            link = f"[{_cell(finding.path)}:{finding.span.line}]({finding.path}#L{finding.span.line})"
            out.append(f"- {link} in {_code(finding.block)}")
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
                f"| {_link(blocker)} | {blocker.kind} | {blocker.finding.rule} "
                f"| {_cell(_code(blocker.block))} | {blocker.finding.confidence!s} "
                f"| {_cell(' → '.join(blocker.via))} |"
            )
        rewrites = [b for b in obj.blockers if b.finding.suggestion is not None]
        if rewrites:
            out += ["", "<details><summary>Suggested rewrites</summary>", ""]
            for blocker in rewrites:
                suggestion = blocker.finding.suggestion
                assert suggestion is not None
                tag = "" if blocker.mechanical else " (check by hand)"
                out.append(f"- {_link(blocker)}{tag}: {suggestion.description} Replace with "
                           f"{_code(suggestion.replacement)}")  # fmt: skip
            out += ["", "</details>"]
    if obj.history:
        places = ", ".join(f"{_cell(f.path)}:{f.span.line} {f.rule}" for f in obj.history)
        out += ["", f"Migration history (replayed before the rename, never a blocker): {places}."]
    return out
