"""`audit scan`, `audit catalog` and `audit rules`."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import TYPE_CHECKING

import click

from auditor.catalog.config import UNRESOLVED_SCOPES, ConfigError
from auditor.cli.options import (
    EMPTY_CATALOG,
    SCAN_FORMATS,
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
    parse_legacy,
    path_argument,
    progress_option,
    run_scan,
    write_output,
)
from auditor.core.rules import RULES
from auditor.core.source import read_regular
from auditor.core.timings import Timings
from auditor.discover.cache import CACHE_DIR, TextMemo, memo_key
from auditor.plan import codeowners

if TYPE_CHECKING:
    from auditor.core.model import ScanResult
    from auditor.gate.gate import GateReport


@click.command("scan")
@path_argument
@config_option
@legacy_option
@click.option("--format", "fmt", type=click.Choice(SCAN_FORMATS), default="text", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE (atomically)."
)
@jobs_option
@progress_option
@click.option("--no-frames", is_flag=True, help="Text format: no code frames, one line per finding.")
@click.option("--verbose", "-v", is_flag=True, help="Text format: list the files left out and why.")
@click.option(
    "--cache-dir",
    default=CACHE_DIR,
    show_default=True,
    help="Where the scan cache lives, relative to PATH unless absolute.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the scan cache.")
@click.option(
    "--unresolved",
    type=click.Choice(UNRESOLVED_SCOPES),
    help="Where to look for unresolved table names (LR005): in every file that builds SQL (default), "
    "or only in files that also name a legacy object (faster on large trees). Overrides the config.",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    help="Report only findings not in this baseline file (see `audit baseline`), and those fixed.",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="With --baseline: remove the fixed findings from the baseline file (it never gains entries).",
)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Report only findings on lines changed since the git REF (untracked files count as changed).",
)
@click.option(
    "--fail-on",
    type=click.Choice(("new", "any", "high", "medium", "low", "never")),  # auditor.gate.gate.FAIL_ON
    default=None,
    help="Which reported findings fail (exit 1): new (default with --baseline), any (default "
    "otherwise), high/medium/low (that confidence or stronger), never (always exit 0).",
)
@click.option(
    "--timings",
    is_flag=True,
    help="After the report, print on stderr where the time went: wall and CPU time per stage.",
)
@database_options
@accept_unresolved_option
def scan_command(
    path: str,
    config_file: str | None,
    legacy: tuple[str, ...],
    fmt: str,
    output: str | None,
    jobs: int,
    no_progress: bool,
    no_frames: bool,
    verbose: bool,
    cache_dir: str,
    no_cache: bool,
    unresolved: str | None,
    baseline_file: str | None,
    update_baseline: bool,
    changed_since: str | None,
    fail_on: str | None,
    database_url: str | None,
    database_mode: str,
    usage_since: str | None,
    accept_unresolved: bool,
    timings: bool,
) -> None:
    """Scan PATH for references to legacy names (and, with a database, its dependents and usage).

    Exit status: 0 nothing fails the build, 1 findings fail it (see --fail-on) or a file that names a
    legacy object could not be analysed, 2 bad usage or config.
    """
    from auditor.cli.gate import apply_gate, prepare_gate, render_gate, with_suppressions

    request = prepare_gate(path, baseline_file, update_baseline, changed_since, fail_on)
    check_output_early(output)
    config = load(path, config_file)
    if unresolved is not None:
        config = dataclasses.replace(config, unresolved=unresolved)
    cache = None if no_cache else cache_dir
    progress = not no_progress and fmt == "text"
    database = database_request(database_url, config, database_mode, usage_since)
    laps = Timings() if timings else None
    scanned = run_scan(
        path, config, parse_legacy(legacy), jobs, progress, cache, database, accept_unresolved, laps
    )
    report = apply_gate(scanned, request)
    if fmt == "text":
        from rich.console import Console  # rich: only the text format pays for importing it

        from auditor.reports.terminal import render

        partial = report.comparison is not None or report.changed is not None
        blocking = with_suppressions(scanned) if partial else None

        if output:
            console = Console(record=True, width=120, force_terminal=False, file=open(os.devnull, "w"))  # noqa: SIM115
            render(report.result, console, frames=not no_frames, blocking=blocking, verbose=verbose)
            render_gate(report, console)
            write_output(console.export_text(), output)
        else:
            console = Console()
            render(report.result, console, frames=not no_frames, blocking=blocking, verbose=verbose)
            render_gate(report, console)
    elif fmt in ("markdown", "html"):
        from auditor.cli.plan import format_plan

        # the planning document is about everything that blocks, not only what this gate reports
        write_output(format_plan(with_suppressions(scanned), fmt), output)
    else:
        write_output(_machine_report(scanned, report, fmt, None if no_cache else cache_dir), output)
    if laps is not None:
        laps.lap("report")
        click.echo(laps.render(), err=True)
    sys.exit(report.exit_status)


def _machine_report(scanned: ScanResult, report: GateReport, fmt: str, cache_dir: str | None) -> str:
    """JSON, SARIF, CSV or a CI format. A re-scan whose result, gate and CODEOWNERS are unchanged writes
    the text it rendered last time (rendering JSON builds the plan's graph: networkx, the encoder)."""
    from auditor.cli.gate import json_extra, with_suppressions

    planned = with_suppressions(scanned) if fmt == "json" else None  # the plan: everything that blocks
    extra = json_extra(report) if fmt == "json" else {}
    key = memo = None
    if cache_dir is not None:
        owners = [_text_of(os.path.join(scanned.root, p)) for p in codeowners.LOCATIONS]
        key = memo_key(fmt, report.result, report.fingerprints, extra, planned, owners)
    if key is not None:
        memo = TextMemo(os.path.join(scanned.root, cache_dir or ""), f"report-{fmt}")
        remembered = memo.get(key)
        if remembered is not None:
            return remembered
    if planned is not None:
        from auditor.plan.plan import plan_json

        extra["plan"] = plan_json(planned)
    text = format_scan(report.result, fmt, report.fingerprints, extra)
    if memo is not None and key is not None:
        memo.put(key, text)
    return text


def _text_of(path: str) -> bytes | None:
    """A CODEOWNERS file's bytes (only a regular file is read: a FIFO there never blocks the scan)."""
    try:
        return read_regular(path)[0]
    except OSError:
        return None


@click.command("catalog")
@path_argument
@config_option
@legacy_option
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def catalog_command(path: str, config_file: str | None, legacy: tuple[str, ...], fmt: str) -> None:
    """Print the legacy catalog: each legacy name, its target and where the entry came from."""
    import json

    from auditor.scan import load_catalog

    config = load(path, config_file)
    try:
        catalog, _ = load_catalog(path, config, parse_legacy(legacy))
    except ConfigError as exc:
        fail(str(exc))
    if not catalog:
        fail(EMPTY_CATALOG)
    if fmt == "json":
        entries = [
            {
                "legacy": str(o.legacy),
                "target": str(o.target) if o.target else None,
                "kind": o.kind,
                "source": o.source,
                "columns": dict(o.columns),
                "evidence": list(o.evidence),
                "computed": dict(o.computed),
            }
            for o in catalog.objects
        ]
        click.echo(json.dumps(entries, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Legacy catalog (default schema {catalog.default_schema})", title_justify="left")
    for column in ("legacy", "target", "kind", "source", "renamed columns", "computed columns"):
        table.add_column(column, overflow="fold")
    for obj in catalog.objects:
        renames = ", ".join(f"{old} -> {new}" for old, new in obj.columns)
        computed = ", ".join(f"{name} = {expression}" for name, expression in obj.computed)
        target = str(obj.target) if obj.target else "-"
        table.add_row(str(obj.legacy), target, obj.kind, obj.source, renames, computed)
    console = Console()
    console.print(table)
    for obj in catalog.objects:
        console.print(f"{obj.legacy}: a compatibility view because", highlight=False)
        for evidence in obj.evidence or ("(no evidence recorded)",):
            console.print(f"  - {evidence}", highlight=False, soft_wrap=True)


@click.command("files")
@path_argument
@config_option
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def files_command(path: str, config_file: str | None, fmt: str) -> None:
    """List the files a scan reads (code in other languages only for its mentions of legacy names) and
    those it leaves out, with the reason (ignored, excluded, too large, binary, not a regular file)."""
    import json

    from auditor.core.model import LeftOut
    from auditor.discover.files import discover, unread_reason

    config = load(path, config_file)
    found = discover(path, config.exclude)
    scanned: list[str] = []
    mentions: list[str] = []  # code in other languages: read for the legacy names it mentions
    left_out = list(found.left_out)
    for files, read in ((found.files, scanned), (found.other, mentions)):
        for file in files:
            reason = unread_reason(file, config.max_file_bytes)
            if reason is None:
                read.append(file.path)
            else:
                left_out.append(LeftOut(file.path, reason))
    left_out.sort(key=lambda e: (e.path, e.reason))
    if fmt == "json":
        entries = [{"path": p, "status": "scanned"} for p in scanned]
        entries += [{"path": p, "status": "mentions"} for p in mentions]
        entries += [{"path": e.path, "status": e.reason} for e in left_out]
        document = {"git": found.git, "files": sorted(entries, key=lambda e: e["path"])}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    source = "git's index and the work tree" if found.git else "the directory tree (.gitignore honoured)"
    other = f", {len(mentions)} other file(s) read for their mentions" if mentions else ""
    click.echo(f"{len(scanned)} file(s) scanned{other}, {len(left_out)} left out; files from {source}")
    listed = [(p, "scanned") for p in scanned] + [(p, "mentions") for p in mentions]
    for entry in sorted(listed + [(e.path, e.reason) for e in left_out]):
        click.echo(f"{entry[1]:<11} {entry[0]}")


@click.command("rules")
@click.argument("code", required=False)
def rules_command(code: str | None) -> None:
    """List the rules, or explain one (e.g. `audit rules LR001`)."""
    from rich.console import Console
    from rich.table import Table

    from auditor.reports.terminal import render_rule

    console = Console()
    if code is not None:
        code = code.upper()
        if code not in RULES:
            fail(f"unknown rule {code!r}; `audit rules` lists them")
        render_rule(code, console)
        return
    table = Table(title="Rules", title_justify="left")
    for column in ("code", "name", "summary"):
        table.add_column(column)
    for rule in RULES.values():
        table.add_row(rule.code, rule.name, rule.summary)
    console.print(table)


@click.command("explain")
@click.argument("location", metavar="PATH:LINE")
@click.option(
    "--root",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="The scan root (where the config lives); PATH is relative to the current directory.",
)
@config_option
@legacy_option
@jobs_option
def explain_command(
    location: str, root: str, config_file: str | None, legacy: tuple[str, ...], jobs: int
) -> None:
    """Show how each occurrence of a legacy name on one line was classified, and why."""
    path, sep, line_text = location.rpartition(":")
    if not sep or not path or not line_text.isdigit() or int(line_text) < 1:
        fail(f"expected PATH:LINE, got {location!r}")
    line = int(line_text)
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")
    if relative.startswith("../"):
        fail(f"{path} is not inside the scan root {root}")
    config = load(root, config_file)
    scanned = run_scan(root, config, parse_legacy(legacy), jobs, False, None)
    here = [m for m in scanned.mentions if m.path == relative and m.line == line]
    click.echo(f"{relative}:{line}")
    if not here:
        click.echo("  no whole-word occurrence of a legacy name on this line in the scanned files")
        return
    labels = {
        "finding": "finding",
        "not-a-reference": "not a reference",
        "unclassified": "LR006 unclassified",
    }
    for mention in here:
        click.echo(
            f"  column {mention.column}: `{mention.name}` -> {labels[mention.verdict]}: {mention.reason}"
        )


@click.command("sinks")
@path_argument
@config_option
@legacy_option
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def sinks_command(path: str, config_file: str | None, legacy: tuple[str, ...], fmt: str) -> None:
    """List where SQL text and table names enter the code: the built-in and configured sinks (rule packs),
    and the helpers of PATH inferred as table sinks, with where each was inferred (pin one in `sinks`)."""
    import json

    from auditor.python.rulepacks import load_rule_packs

    config = load(path, config_file)
    try:
        packs = load_rule_packs(config.rule_packs, config.sinks)
    except ConfigError as exc:
        fail(str(exc))
    scanned = run_scan(path, config, parse_legacy(legacy), 0, False, None)
    builtin = set(load_rule_packs().names) - {"config"}
    declared = [
        {
            "origin": "built-in" if sink.pack in builtin else "configured",
            "pack": sink.pack,
            "call": sink.call or f".{sink.method}",
            "args": list(sink.args),
            "keywords": list(sink.keywords),
            "kind": sink.kind,
        }
        for sink in packs.sinks
    ]
    for lookup in packs.lookups:  # containers of tables keyed by name: `db["orders"]`, `meta.tables.get(...)`
        owner = (lookup.receiver_types or lookup.receiver_names)[0]
        container = f"{owner}.{lookup.attribute}" if lookup.attribute else owner
        origin = "built-in" if lookup.pack in builtin else "configured"
        for call, args in [(f"{container}[key]", []), *((f"{container}.{m}", [0]) for m in lookup.methods)]:
            entry = {"origin": origin, "pack": lookup.pack, "call": call, "args": args, "keywords": []}
            declared.append({**entry, "kind": "table"})
    inferred = [
        {
            "origin": "inferred",
            "call": sink.function,
            "parameter": sink.parameter,
            "kind": "table",
            "path": sink.path,
            "line": sink.line,
            "reaches": sink.reaches,
            "via": list(sink.chain),
        }
        for sink in scanned.inferred_sinks
    ]
    if fmt == "json":
        click.echo(json.dumps({"sinks": [*declared, *inferred]}, indent=2))
        return
    for entry in declared:
        where = ", ".join([*(str(a) for a in entry["args"]), *entry["keywords"]])  # type: ignore[union-attr]
        shown = entry["call"] if str(entry["call"]).endswith("]") else f"{entry['call']}({where})"
        click.echo(f"{entry['origin']:<10} {entry['kind']:<16} {shown}  [{entry['pack']}]")
    for entry in inferred:
        chain = " -> ".join([str(entry["call"]), *entry["via"]])  # type: ignore[misc]
        click.echo(
            f"inferred   table            {entry['call']}({entry['parameter']})  "
            f"{entry['path']}:{entry['line']}: reaches {entry['reaches']} ({chain})"
        )
