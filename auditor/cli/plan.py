"""`audit plan` and `audit graph`."""

from __future__ import annotations

import json
import os
import sys

import click

from auditor.cli.options import (
    accept_unresolved_option,
    check_output_early,
    config_option,
    database_options,
    database_request,
    fail,
    format_scan,
    jobs_option,
    legacy_option,
    load,
    output_option,
    parse_legacy,
    path_argument,
    progress_option,
    run_scan,
    write_output,
)
from auditor.core.model import ScanResult
from auditor.core.output import OutputError, check_output
from auditor.reports.graph import GRAPH_FORMATS

PLAN_FORMATS = ("text", "json", "markdown", "html", "csv", "sarif")


def format_plan(result: ScanResult, fmt: str) -> str:
    """The plan report of ``result`` in ``fmt`` (every format but the terminal's)."""
    from auditor.plan import codeowners
    from auditor.plan.graph import build_graph
    from auditor.plan.plan import build_plan, plan_to_dict

    owners = codeowners.load(result.root)
    if fmt == "csv":
        from auditor.gate.fingerprint import fingerprints
        from auditor.reports.csv import to_csv

        return to_csv(result, fingerprints(result.findings), owners=owners.owners)
    if fmt == "sarif":
        return format_scan(result, "sarif")
    plan = build_plan(result, build_graph(result), owners.owners)
    if fmt == "json":
        from auditor.reports.json import SCHEMA_VERSION

        document = {"schema_version": SCHEMA_VERSION, **plan_to_dict(plan)}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        from auditor.reports.markdown import to_markdown

        return to_markdown(plan)
    if fmt == "html":
        from auditor.reports.html import to_html

        paths = {b.path for obj in plan.objects for b in obj.blockers}
        return to_html(plan, {path: owners.owners(path) for path in sorted(paths)})
    from rich.console import Console  # rich: only the text formats pay for importing it

    from auditor.reports.plan_text import render_plan

    console = Console(record=True, width=160, force_terminal=False, file=open(os.devnull, "w"))  # noqa: SIM115
    render_plan(plan, console)
    return console.export_text()


@click.command("plan")
@path_argument
@config_option
@legacy_option
@click.option("--format", "fmt", type=click.Choice(PLAN_FORMATS), default="text", show_default=True)
@output_option
@click.option(
    "--emit-migration",
    "migration_dir",
    type=click.Path(file_okay=False),
    help="Write the Phase 3 migration that drops the ready objects into DIR (a new timestamped file).",
)
@jobs_option
@progress_option
@database_options
@accept_unresolved_option
def plan_command(
    path: str,
    config_file: str | None,
    legacy: tuple[str, ...],
    fmt: str,
    output: str | None,
    migration_dir: str | None,
    jobs: int,
    no_progress: bool,
    database_url: str | None,
    database_mode: str,
    usage_since: str | None,
    accept_unresolved: bool,
) -> None:
    """Plan Phase 3: for each legacy object, ready or blocked (by what, owned by whom), and a safe drop order.

    With --emit-migration DIR, write the migration for the ready objects instead of printing the plan
    (the plan still goes to --output when given).
    """
    check_output_early(output)
    if migration_dir is not None and os.path.isdir(migration_dir):  # a missing one is created
        try:
            from auditor.plan.migration import FILE_SUFFIX

            check_output(os.path.join(migration_dir, "new" + FILE_SUFFIX))
        except OutputError as exc:
            fail(f"--emit-migration {migration_dir}: {exc.reason}")
    config = load(path, config_file)
    interactive = not no_progress and fmt == "text" and migration_dir is None
    database = database_request(database_url, config, database_mode, usage_since)
    result = run_scan(
        path,
        config,
        parse_legacy(legacy),
        jobs,
        interactive,
        database=database,
        accept_unresolved=accept_unresolved,
    )
    if migration_dir is not None:
        _emit(result, migration_dir)
        if output:
            write_output(format_plan(result, fmt), output)
        sys.exit(0)
    if fmt == "text" and not output:
        from rich.console import Console

        from auditor.plan.graph import build_graph
        from auditor.plan.plan import build_plan
        from auditor.reports.plan_text import render_plan

        render_plan(build_plan(result, build_graph(result)), Console())
    else:
        write_output(format_plan(result, fmt), output)
    sys.exit(0)


def _emit(result: ScanResult, directory: str) -> None:
    from auditor.core.output import OutputError
    from auditor.plan.graph import build_graph
    from auditor.plan.migration import emit_migration
    from auditor.plan.plan import build_plan

    plan = build_plan(result, build_graph(result))
    try:
        written = emit_migration(plan, directory)
    except OutputError as exc:
        fail(str(exc))
    if written is None:
        if plan.objects:
            names = ", ".join(obj.legacy for obj in plan.blocked)
            reason = f"every legacy object is still blocked ({names}); `audit plan` lists the blockers"
        else:
            reason = "the legacy catalog is empty"
        click.echo(f"audit: no migration written: {reason}.")
        return
    blocked = f"; still blocked: {', '.join(o.legacy for o in plan.blocked)}" if plan.blocked else ""
    click.echo(f"audit: wrote {written}: drops {', '.join(plan.drop_order)}{blocked}.")


@click.command("graph")
@path_argument
@config_option
@legacy_option
@click.option("--format", "fmt", type=click.Choice(GRAPH_FORMATS), default="dot", show_default=True)
@click.option(
    "--object",
    "--legacy-object",
    "legacy_object",
    metavar="NAME",
    help="Only the sub-graph around this legacy object (`public.orders_v1` or `orders_v1`).",
)
@output_option
@jobs_option
@progress_option
def graph_command(
    path: str,
    config_file: str | None,
    legacy: tuple[str, ...],
    fmt: str,
    legacy_object: str | None,
    output: str | None,
    jobs: int,
    no_progress: bool,
) -> None:
    """Print the dependency graph (files, blocks, constants, database objects, legacy objects)."""
    from auditor.plan.graph import build_graph, legacy_nodes, subgraph_around
    from auditor.reports.graph import export_graph

    check_output_early(output)
    config = load(path, config_file)
    result = run_scan(path, config, parse_legacy(legacy), jobs, progress=False)
    graph = build_graph(result)
    if legacy_object is not None:
        graph = subgraph_around(graph, _find_legacy(legacy_nodes(graph), legacy_object))
    write_output(export_graph(graph, fmt), output)
    sys.exit(0)


def _find_legacy(nodes: list[str], wanted: str) -> str:
    names = [node.removeprefix("legacy:") for node in nodes]
    text = wanted.strip().lower()
    matches = [n for n in names if n == text] or [n for n in names if n.split(".", 1)[-1] == text]
    if len(matches) == 1:
        return f"legacy:{matches[0]}"
    known = ", ".join(names) or "none"
    if matches:
        fail(f"{wanted!r} is ambiguous: {', '.join(matches)}")
    fail(f"{wanted!r} is not a legacy object (known: {known})")
