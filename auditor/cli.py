"""The `audit` command line (click). Exit status: 0 no findings, 1 findings, 2 bad usage or config."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from auditor import __version__
from auditor.cache import CACHE_DIR
from auditor.config import UNRESOLVED_SCOPES, Config, ConfigError, load_config
from auditor.model import ScanResult
from auditor.output import write_report
from auditor.rules import RULES

EMPTY_CATALOG = (
    "the legacy catalog is empty: no compatibility views in the migrations, "
    "no `legacy` in the config, no --legacy OLD=NEW"
)
SCAN_FORMATS = ("text", "json", "sarif", "csv", "github", "gitlab", "junit")


def _fail(message: str) -> NoReturn:
    click.echo(f"audit: error: {message}", err=True)
    sys.exit(2)


def _parse_legacy(values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"expected OLD=NEW, got {value!r}", param_hint="--legacy")
        pairs.append((old.strip(), new.strip()))
    return pairs


def _load(path: str, config_file: str | None) -> Config:
    try:
        return load_config(path, config_file)
    except ConfigError as exc:
        _fail(str(exc))


def _run_scan(
    path: str,
    config: Config,
    legacy: list[tuple[str, str]],
    jobs: int,
    progress: bool,
    cache_dir: str | None = CACHE_DIR,
) -> ScanResult:
    from auditor.scan import ScanOptions, scan

    reporter = _progress_reporter() if progress else None
    try:
        return scan(ScanOptions(path, config, legacy, jobs, cache_dir), reporter)
    except ConfigError as exc:
        _fail(str(exc))
    finally:
        if reporter is not None:
            reporter.close()  # type: ignore[attr-defined]


class _Progress:
    """A transient status line on stderr while files are parsed (only on a terminal)."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.status = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        message = f"{stage} {total} candidate file(s)…"
        if self.status is None:
            self.status = self.console.status(message)
            self.status.start()
        else:
            self.status.update(message)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()


def _progress_reporter() -> Callable[[str, int, int], None] | None:
    return _Progress() if sys.stderr.isatty() else None


def _fingerprints(result: ScanResult) -> list[str]:
    from auditor.fingerprint import fingerprints

    return fingerprints(result.findings)


def format_scan(
    result: ScanResult,
    fmt: str,
    fingerprints: Sequence[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """Every machine-readable format of a scan result; ``extra`` adds top-level JSON keys."""
    prints = list(fingerprints) if fingerprints is not None else _fingerprints(result)
    if fmt == "json":
        from auditor.export_json import to_json

        return to_json(result, prints, extra=extra or None)
    if fmt == "sarif":
        from auditor.export_sarif import to_sarif

        return to_sarif(result, prints)
    if fmt == "csv":
        from auditor.export_csv import to_csv

        return to_csv(result, prints)
    from auditor import export_ci

    exporters = {"github": export_ci.to_github, "gitlab": export_ci.to_gitlab, "junit": export_ci.to_junit}
    return exporters[fmt](result, prints)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audit")
def main() -> None:
    """Find the code that still blocks dropping legacy PostgreSQL compatibility views."""


_path_argument = click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Config file (audit.toml, or a pyproject.toml with [tool.audit]).",
)
_legacy_option = click.option(
    "--legacy",
    multiple=True,
    metavar="OLD=NEW",
    help="A legacy name and its replacement (repeatable; overrides the config).",
)


@main.command("scan")
@_path_argument
@_config_option
@_legacy_option
@click.option("--format", "fmt", type=click.Choice(SCAN_FORMATS), default="text", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE (atomically)."
)
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, help="Worker processes (0: all cores).")
@click.option("--no-progress", is_flag=True, help="Never show the progress line.")
@click.option("--no-frames", is_flag=True, help="Text format: no code frames, one line per finding.")
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
    type=click.Choice(("new", "any", "high", "medium", "low", "never")),  # auditor.gate.FAIL_ON
    default=None,
    help="Which reported findings fail (exit 1): new (default with --baseline), any (default "
    "otherwise), high/medium/low (that confidence or stronger), never (always exit 0).",
)
def scan_command(
    path: str,
    config_file: str | None,
    legacy: tuple[str, ...],
    fmt: str,
    output: str | None,
    jobs: int,
    no_progress: bool,
    no_frames: bool,
    cache_dir: str,
    no_cache: bool,
    unresolved: str | None,
    baseline_file: str | None,
    update_baseline: bool,
    changed_since: str | None,
    fail_on: str | None,
) -> None:
    """Scan PATH for references to legacy names.

    Exit status: 0 nothing fails the build, 1 findings fail it (see --fail-on), 2 bad usage or config.
    """
    from auditor.cli_gate import apply_gate, json_extra, prepare_gate, render_gate, with_suppressions

    request = prepare_gate(path, baseline_file, update_baseline, changed_since, fail_on)
    config = _load(path, config_file)
    if unresolved is not None:
        config = dataclasses.replace(config, unresolved=unresolved)
    cache = None if no_cache else cache_dir
    progress = not no_progress and fmt == "text"
    scanned = _run_scan(path, config, _parse_legacy(legacy), jobs, progress, cache)
    report = apply_gate(scanned, request)
    if fmt == "text":
        from auditor.report_terminal import render

        partial = report.comparison is not None or report.changed is not None
        blocking = with_suppressions(scanned) if partial else None

        if output:
            console = Console(record=True, width=120, force_terminal=False, file=open(os.devnull, "w"))  # noqa: SIM115
            render(report.result, console, frames=not no_frames, blocking=blocking)
            render_gate(report, console)
            write_report(console.export_text(), output)
        else:
            console = Console()
            render(report.result, console, frames=not no_frames, blocking=blocking)
            render_gate(report, console)
    else:
        extra = json_extra(report) if fmt == "json" else {}
        if fmt == "json":
            from auditor.plan import plan_json

            # the plan is about everything that blocks, not only what this gate reports
            extra["plan"] = plan_json(with_suppressions(scanned))
        write_report(format_scan(report.result, fmt, report.fingerprints, extra), output)
    sys.exit(report.exit_status)


@main.command("catalog")
@_path_argument
@_config_option
@_legacy_option
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def catalog_command(path: str, config_file: str | None, legacy: tuple[str, ...], fmt: str) -> None:
    """Print the legacy catalog: each legacy name, its target and where the entry came from."""
    import json

    from auditor.scan import load_catalog

    config = _load(path, config_file)
    catalog, _ = load_catalog(path, config, _parse_legacy(legacy))
    if not catalog:
        _fail(EMPTY_CATALOG)
    if fmt == "json":
        entries = [
            {
                "legacy": str(o.legacy),
                "target": str(o.target) if o.target else None,
                "kind": o.kind,
                "source": o.source,
                "columns": dict(o.columns),
            }
            for o in catalog.objects
        ]
        click.echo(json.dumps(entries, indent=2))
        return
    table = Table(title=f"Legacy catalog (default schema {catalog.default_schema})", title_justify="left")
    for column in ("legacy", "target", "kind", "source", "renamed columns"):
        table.add_column(column)
    for obj in catalog.objects:
        renames = ", ".join(f"{old} -> {new}" for old, new in obj.columns)
        table.add_row(str(obj.legacy), str(obj.target) if obj.target else "-", obj.kind, obj.source, renames)
    Console().print(table)


@main.command("rules")
@click.argument("code", required=False)
def rules_command(code: str | None) -> None:
    """List the rules, or explain one (e.g. `audit rules LR001`)."""
    from auditor.report_terminal import render_rule

    console = Console()
    if code is not None:
        code = code.upper()
        if code not in RULES:
            _fail(f"unknown rule {code!r}; `audit rules` lists them")
        render_rule(code, console)
        return
    table = Table(title="Rules", title_justify="left")
    for column in ("code", "name", "summary"):
        table.add_column(column)
    for rule in RULES.values():
        table.add_row(rule.code, rule.name, rule.summary)
    console.print(table)


def entry() -> None:
    """The console script: a bug is reported in one line with exit status 2, never mistaken for findings."""
    try:
        main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("AUDIT_DEBUG"):
            raise
        click.echo(
            f"audit: internal error: {type(exc).__name__}: {exc} (set AUDIT_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(2)


# the commands defined in their own modules register themselves on `main`
from auditor import cli_gate, cli_plan  # noqa: E402, F401
