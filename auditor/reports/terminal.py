"""The terminal report (rich): findings grouped by legacy object with a code frame, then a summary."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from rich.console import Console, Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from auditor.core.model import (
    Confidence,
    Diagnostic,
    Finding,
    LeftOut,
    ScanResult,
    blocks_phase3,
    unverified_holds,
)
from auditor.core.output import printable
from auditor.core.rules import RULES
from auditor.core.source import decode_python, decode_sql, read_bytes
from auditor.plan.plan import blocker_kind
from auditor.reports.common import left_out_counts, ready_to_drop, unanalysed_note

_STYLE = {Confidence.HIGH: "bold red", Confidence.MEDIUM: "yellow", Confidence.LOW: "cyan"}


def _group(finding: Finding) -> str:
    if finding.legacy is not None:
        return str(finding.legacy)
    return "(suppression comments)" if finding.rule == "LR900" else "(unresolved table names)"


def render(
    result: ScanResult,
    console: Console,
    frames: bool = True,
    blocking: ScanResult | None = None,
    verbose: bool = False,
) -> None:
    """Findings grouped by legacy object, then the summary; ``blocking`` is everything that still blocks
    (when a baseline or --changed-since reports only part of it), which the summary counts."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        groups[_group(finding)].append(finding)
    cache: dict[str, list[str]] = {}
    for legacy in sorted(groups, key=lambda k: (k.startswith("("), k)):
        findings = groups[legacy]
        console.rule(Text(printable(f"{legacy}  ({len(findings)})"), style="bold"))
        for finding in findings:
            _render_finding(result.root, finding, console, cache, frames)
    if result.diagnostics:
        console.print()
        console.print(
            Text(f"{len(result.diagnostics)} file(s) could not be fully analysed:", style="bold yellow")
        )
        for diag in result.diagnostics:
            where = f"{diag.path}:{diag.line}" if diag.line else diag.path
            line = Text(printable(f"  {where}: "))
            line.append(diag.kind, style="yellow")
            line.append(printable(f": {diag.message}"))  # never markup: a file name may hold "[/]"
            console.print(line, highlight=False)
    _render_unanalysed(result, console)
    console.print()
    everything = blocking if blocking is not None else result
    console.print(summary_table(everything))
    ready = ready_to_drop(everything)
    low = sum(1 for f in result.findings if f.rule == "LR005")
    tail = f"{len(result.findings)} finding(s) in {result.files_scanned} file(s); "
    tail += f"{len(ready)} of {len(result.catalog)} legacy object(s) ready to drop"
    if low:
        tail += f"; {low} table name(s) could not be resolved (LR005): check them by hand"
        if not result.unresolved_accepted:
            tail += " (then --accept-unresolved)"
    console.print(tail, highlight=False)
    render_left_out(result.left_out, console, verbose)


def render_left_out(left_out: Sequence[LeftOut], console: Console, verbose: bool) -> None:
    if not left_out:
        return
    counts = ", ".join(f"{n} {reason.replace('-', ' ')}" for reason, n in left_out_counts(left_out).items())
    hint = ":" if verbose else " (--verbose or `audit files` lists them)"
    console.print(f"Left out: {counts}{hint}", highlight=False, soft_wrap=True)
    if verbose:
        for entry in left_out:
            console.print(f"  {entry.path}  [dim]{entry.reason}[/]", highlight=False)


def _render_unanalysed(result: ScanResult, console: Console) -> None:
    """Which legacy objects the unanalysed files keep blocked, and those that name none."""
    if not result.unanalysed:
        return
    console.print()
    console.print(Text(f"{len(result.unanalysed)} file(s) were not analysed:", style="bold red"))
    for file in result.unanalysed:
        console.print(Text(printable(f"  {file.path}: {unanalysed_note(file)}")), highlight=False)


_LEXERS: dict[str, Lexer] = {}


def _lexer(name: str) -> Lexer:
    """The lexer `Syntax` would look up by name for every frame, with the same options, made once."""
    found = _LEXERS.get(name)
    if found is None:
        found = _LEXERS[name] = get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=_TAB_SIZE)
    return found


_TAB_SIZE = 4  # Syntax's default


def _render_finding(
    root: str, finding: Finding, console: Console, cache: dict[str, list[str]], frames: bool
) -> None:
    span = finding.span
    header = Text()
    header.append(printable(f"{finding.path}:{span.line}:{span.column}"), style="bold")
    header.append(f" {finding.rule} ", style=_STYLE[finding.confidence])
    header.append(f"[{finding.confidence}] ", style="dim")
    header.append(printable(finding.message))
    parts: list[object] = [header]
    if frames:
        lines = cache.get(finding.path)
        if lines is None:
            lines = _source_lines(os.path.join(root, finding.path), finding.path)
            cache[finding.path] = lines
        if 0 < span.line <= len(lines):
            first = max(1, span.line - 1)
            last = min(len(lines), span.line + 1)
            code = printable("\n".join(lines[first - 1 : last]))
            name = "sql" if finding.path.endswith(".sql") else "python"
            if console.color_system is None:  # no colours to show: the same frame, without tokenising
                name = "text"
            parts.append(
                Syntax(
                    code,
                    _lexer(name),
                    line_numbers=True,
                    start_line=first,
                    highlight_lines={span.line},
                    theme="ansi_dark",
                    word_wrap=False,
                )
            )
    if finding.suggestion is not None:
        parts.append(
            Text(
                printable(f"  fix: {finding.suggestion.description} → {finding.suggestion.replacement}"),
                style="green",
            )
        )
    console.print(Group(*parts))  # type: ignore[arg-type]


def _source_lines(full_path: str, path: str) -> list[str]:
    """The lines of a reported file, decoded as the scan decoded them (UTF-16, PEP 263 cookies)."""
    data = read_bytes(full_path, path, 1 << 30)
    if isinstance(data, Diagnostic):
        return []
    text = decode_sql(data, path) if path.endswith(".sql") else decode_python(data, path)
    return text.split("\n") if isinstance(text, str) else data.decode("utf-8", "replace").split("\n")


def summary_table(result: ScanResult) -> Table:
    table = Table(
        title="Legacy objects",
        title_justify="left",
        caption="findings that block, by where they are: python code, .sql files, database objects; "
        "history: findings in migrations, never blockers",
        caption_justify="left",
    )
    for column in ("legacy", "target"):
        # a name is folded, never cut short, and keeps room for itself on a narrow terminal
        table.add_column(column, overflow="fold", min_width=12)
    for column in ("python", "sql", "db", "history"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", overflow="fold", min_width=7)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for finding in result.findings:
        if finding.legacy is not None:
            kind = blocker_kind(finding) if blocks_phase3(finding) else "history"
            counts[str(finding.legacy)][kind] += 1
    held = unverified_holds(result)
    for obj in result.catalog:
        c = counts.get(str(obj.legacy), {})
        why = held.get(str(obj.legacy), ())
        if any(n for kind, n in c.items() if kind != "history"):
            status = Text("blocked", style="red")
        elif any(w != "LR005" for w in why):
            status = Text("blocked: unanalysed files", style="red")
        elif why:
            status = Text("blocked: unresolved table names", style="red")
        else:
            status = Text("ready", style="green")
        table.add_row(
            Text(printable(str(obj.legacy))),
            Text(printable(str(obj.target))) if obj.target else "-",
            str(c.get("python", 0)),
            str(c.get("sql-file", 0)),
            str(c.get("db-object", 0)),
            str(c.get("history", 0)),
            status,
        )
    return table


def render_rule(code: str, console: Console) -> None:
    rule = RULES[code]
    console.print(Text(f"{rule.code} ({rule.name})", style="bold"))
    console.print(Text(rule.summary, style="italic"))
    for title, body in (("What it does", rule.what), ("Why does it block Phase 3?", rule.why)):
        console.print()
        console.print(Text(title, style="bold"))
        console.print(body, highlight=False)
    console.print()
    console.print(Text("Example", style="bold"))
    console.print(
        Syntax(
            rule.example,
            "python" if "(" in rule.example and "SELECT" not in rule.example[:7] else "sql",
            theme="ansi_dark",
        )
    )
    console.print(Text("Use instead", style="bold"))
    console.print(Syntax(rule.use_instead, "python", theme="ansi_dark"))
