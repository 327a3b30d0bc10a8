"""What every `audit` command shares: option decorators, config and catalog loading, running the scan,
and the one-line error with exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click

from auditor.catalog.config import Config, ConfigError, load_config
from auditor.core.model import ScanResult
from auditor.core.output import OutputError, check_output, write_report
from auditor.core.timings import Timings
from auditor.database.connect import DATABASE_MODES, DatabaseError, DatabaseRequest, choose_url
from auditor.discover.cache import CACHE_DIR

EMPTY_CATALOG = (
    "the legacy catalog is empty: no compatibility views in the migrations, "
    "no `legacy` in the config, no --legacy OLD=NEW"
)
SCAN_FORMATS = ("text", "json", "sarif", "csv", "github", "gitlab", "junit", "markdown", "html")


def fail(message: str) -> NoReturn:
    click.echo(f"audit: error: {message}", err=True)
    sys.exit(2)


def write_output(text: str, output: str | None) -> None:
    """The report to stdout or ``output``; a file that cannot be written is a one-line error."""
    try:
        write_report(text, output)
    except OutputError as exc:
        fail(str(exc))


def check_output_early(output: str | None) -> None:
    """Refuse an output that cannot be written before the scan runs (``-o ''``, a missing directory)."""
    if output is not None and output != "-":
        try:
            check_output(output)
        except OutputError as exc:
            fail(str(exc))


def parse_legacy(values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            fail(f"--legacy: expected OLD=NEW, got {value!r}")
        pairs.append((old.strip(), new.strip()))
    return pairs


def load(path: str, config_file: str | None) -> Config:
    try:
        return load_config(path, config_file)
    except ConfigError as exc:
        fail(str(exc))


def run_scan(
    path: str,
    config: Config,
    legacy: list[tuple[str, str]],
    jobs: int,
    progress: bool,
    cache_dir: str | None = CACHE_DIR,
    database: DatabaseRequest | None = None,
    accept_unresolved: bool = False,
    timings: Timings | None = None,
) -> ScanResult:
    from auditor.scan import ScanOptions, scan

    reporter = _progress_reporter() if progress else None
    try:
        options = ScanOptions(path, config, legacy, jobs, cache_dir, database, accept_unresolved, timings)
        return scan(options, reporter)
    except ConfigError as exc:
        fail(str(exc))
    finally:
        if reporter is not None:
            reporter.close()  # type: ignore[attr-defined]


class _Progress:
    """A transient status line on stderr while files are parsed (only on a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console  # rich: only for a terminal

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
    from auditor.gate.fingerprint import fingerprints

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
        from auditor.reports.json import to_json

        return to_json(result, prints, extra=extra or None)
    if fmt == "sarif":
        from auditor.reports.sarif import to_sarif

        return to_sarif(result, prints)
    if fmt == "csv":
        from auditor.reports.csv import to_csv

        return to_csv(result, prints)
    from auditor.reports import ci as export_ci

    exporters = {"github": export_ci.to_github, "gitlab": export_ci.to_gitlab, "junit": export_ci.to_junit}
    return exporters[fmt](result, prints)


path_argument = click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Config file (audit.toml, or a pyproject.toml with [tool.audit]).",
)
legacy_option = click.option(
    "--legacy",
    multiple=True,
    metavar="OLD=NEW",
    help="A legacy name and its replacement (repeatable; overrides the config).",
)


output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE (atomically)."
)
jobs_option = click.option(
    "--jobs", "-j", type=click.IntRange(min=0), default=0, help="Worker processes (0: all cores)."
)
accept_unresolved_option = click.option(
    "--accept-unresolved",
    is_flag=True,
    help="A person checked the unresolved table names (LR005): they no longer keep legacy objects "
    "from being ready to drop (they are still reported).",
)
progress_option = click.option("--no-progress", is_flag=True, help="Never show the progress line.")


def database_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--database-url``, ``--database required|optional`` and ``--usage-since`` (scan and plan)."""
    command = click.option(
        "--usage-since",
        type=click.Path(dir_okay=False),
        help="With a database: count only the statements run after this `audit db snapshot` file.",
    )(command)
    command = click.option(
        "--database",
        "database_mode",
        type=click.Choice(DATABASE_MODES),
        default="required",
        show_default=True,
        help="When the database cannot be read: fail (exit 2), or report it and go on with static analysis.",
    )(command)
    return database_url_option(command)


database_url_option = click.option(
    "--database-url",
    metavar="URL",
    help="Read the live database too (else AUDIT_DATABASE_URL, else database_url in the config).",
)


def database_request(
    flag: str | None, config: Config, mode: str = "required", since: str | None = None
) -> DatabaseRequest | None:
    """The database to read, or None for a static-only run."""
    try:
        url = choose_url(flag, config.database_url)
    except DatabaseError as exc:
        fail(str(exc))
    if url is None:
        if since is not None:
            fail("--usage-since needs a database (--database-url, AUDIT_DATABASE_URL or database_url)")
        return None
    return DatabaseRequest(url, mode == "required", since)
