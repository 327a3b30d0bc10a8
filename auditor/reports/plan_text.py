"""The plan in the terminal (rich): a summary table, the blockers of each blocked object, the drop order."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.core.output import printable
from auditor.plan.plan import BLOCKED, Plan
from auditor.reports.common import unanalysed_note
from auditor.reports.evidence import database_line, object_evidence, usage_per_role


def summary_table(plan: Plan) -> Table:
    table = Table(title="Phase 3 plan", title_justify="left")
    table.add_column("legacy → target", overflow="fold")
    table.add_column("status")
    table.add_column("python/sql/db", justify="right")
    table.add_column("blocks/files", justify="right")
    table.add_column("mechanical/person", justify="right")
    table.add_column("owners", overflow="fold")
    table.add_column("drop after", overflow="fold")
    for obj in plan.objects:
        if obj.status != BLOCKED:
            status = Text("ready", style="green")
        elif obj.blockers:
            status = Text("blocked", style="red")
        else:
            status = Text("blocked: " + ", ".join(obj.reasons), style="red")
        table.add_row(
            Text(printable(f"{obj.legacy} → {obj.target or '-'}")),
            status,
            f"{obj.count('python')}/{obj.count('sql-file')}/{obj.count('db-object')}",
            f"{len(obj.blocks)}/{len(obj.files)}",
            f"{obj.mechanical}/{obj.manual}",
            Text(printable(" ".join(obj.owners) or "-")),
            Text(printable(" ".join(obj.drop_after) or "-")),
        )
    return table


def render_plan(plan: Plan, console: Console) -> None:
    console.print(summary_table(plan))
    if plan.database is not None:
        _render_database(plan, console)
    for obj in plan.blocked:
        console.print()
        title = printable(f"{obj.legacy}: {len(obj.blockers)} blocker(s)")
        if obj.owners:
            title += printable(f", owners {' '.join(obj.owners)}")
        table = Table(title=title, title_justify="left")
        table.add_column("where", overflow="fold")
        table.add_column("rule")
        table.add_column("block", overflow="fold")
        table.add_column("through", overflow="fold")
        table.add_column("fix")
        for blocker in obj.blockers:
            table.add_row(
                Text(printable(f"{blocker.path}:{blocker.line}")),
                f"{blocker.finding.rule} {blocker.finding.confidence}",
                Text(printable(blocker.finding.db_object or blocker.block)),
                Text(printable(" → ".join(blocker.via[1:]) or "-")),
                "mechanical" if blocker.mechanical else Text("person", style="yellow"),
            )
        if obj.blockers:
            console.print(table)
        if obj.unanalysed:
            console.print(
                Text(
                    printable("  blocked: unanalysed files (they may name it): " + ", ".join(obj.unanalysed))
                )
            )
        if obj.unresolved:
            console.print("  blocked: unresolved table names (LR005) may hold it; check them, then "
                          "--accept-unresolved", highlight=False)  # fmt: skip
        if obj.cycle:
            console.print("  its view is part of a cycle of legacy views: no safe order to drop them")
    history = [obj for obj in plan.objects if obj.history]
    if history:
        console.print()
        console.print("Migration history (replayed before the rename; never a blocker):", highlight=False)
        for obj in history:
            where = ", ".join(sorted({f"{f.path}:{f.span.line}" for f in obj.history}))
            console.print(f"  {obj.legacy}: {len(obj.history)} reference(s) in {where}", highlight=False)
    console.print()
    if plan.drop_order:
        console.print(Text(printable("Safe drop order: " + " → ".join(plan.drop_order))), highlight=False)
    else:
        console.print("Nothing is ready to drop yet.", highlight=False)
    if plan.unresolved:
        accepted = " (accepted)" if plan.unresolved_accepted else ""
        console.print(
            f"{len(plan.unresolved)} table name(s) could not be resolved (LR005){accepted}: "
            "check them by hand.",
            highlight=False,
        )


def _render_database(plan: Plan, console: Console) -> None:
    assert plan.database is not None
    console.print(database_line(plan.database), highlight=False)
    evidence = Table(title="Evidence per legacy object", title_justify="left")
    evidence.add_column("legacy")
    evidence.add_column("status")
    evidence.add_column("evidence", overflow="fold")
    for obj in plan.objects:
        lines = "\n".join(f"{kind}: {text}" for kind, text in object_evidence(plan, obj))
        evidence.add_row(obj.legacy, obj.status, lines)
    console.print(evidence)
    rows = usage_per_role(plan)
    if rows:
        table = Table(title="Usage of legacy views per role (LR105)", title_justify="left")
        for column in ("role", "legacy view", "statements", "calls", "rows"):
            table.add_column(column)
        for role, legacy, statements, calls, count in rows:
            table.add_row(role, legacy, str(statements), str(calls), str(count))
        console.print(table)
    for file in plan.unanalysed:
        console.print(Text(printable(f"not analysed: {file.path} ({file.kind}): {unanalysed_note(file)}")))
