"""`audit db`: the live database as a second witness (catalog and drift, dependents, usage, snapshots).

Exit status: 0 nothing to report, 1 drift / dependents / usage found, 2 bad usage, configuration or an
unreadable database (one line on stderr, never the password).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from auditor.catalog.names import LegacyCatalog
from auditor.cli.options import (
    EMPTY_CATALOG,
    config_option,
    database_request,
    database_url_option,
    fail,
    legacy_option,
    load,
    parse_legacy,
    path_argument,
)
from auditor.database.connect import DatabaseError, DatabaseRequest

if TYPE_CHECKING:
    from auditor.sql.migrations import MigrationCatalog

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)


@click.group("db")
def db_group() -> None:
    """Read the live database: compatibility views and drift, dependents, usage, usage snapshots."""


def _request(
    url: str | None, config_file: str | None, path: str, since: str | None = None
) -> DatabaseRequest:
    request = database_request(url, load(path, config_file), "required", since)
    if request is None:
        fail("no database: give --database-url, set AUDIT_DATABASE_URL, or database_url in [tool.audit]")
    return request


def _catalog(
    path: str, config_file: str | None, legacy: tuple[str, ...]
) -> tuple[LegacyCatalog, MigrationCatalog]:
    from auditor.scan import load_catalog_and_migrations

    catalog, migrations, _ = load_catalog_and_migrations(path, load(path, config_file), parse_legacy(legacy))
    return catalog, migrations


def _guarded(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except DatabaseError as exc:
        fail(str(exc))


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


@db_group.command("catalog")
@path_argument
@config_option
@legacy_option
@database_url_option
@_FORMAT
def catalog_command(
    path: str, config_file: str | None, legacy: tuple[str, ...], database_url: str | None, fmt: str
) -> None:
    """The compatibility views the database has, and how they drift from the migrations of PATH."""
    from auditor.database.witness import read_database

    request = _request(database_url, config_file, path)
    catalog, migrations = _catalog(path, config_file, legacy)
    reading = _guarded(lambda: read_database(request, catalog, migrations))
    views = [v for v in reading.views if v.is_compat]
    if fmt == "json":
        document = {
            "database": reading.evidence.database,
            "views": [
                {
                    "legacy": str(v.name),
                    "kind": v.kind,
                    "target": str(v.target),
                    "columns": dict(v.renamed),
                    "computed": list(v.computed),
                    "instead_of_triggers": list(v.instead_of),
                    "functions": [str(f) for f in v.functions],
                    "in_migrations": catalog.get(v.name) is not None,
                }
                for v in views
            ],
            "drift": [
                {"legacy": str(d.legacy), "kind": d.kind, "detail": d.detail, "migration": d.migration}
                for d in reading.drift
            ],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        console = Console()
        rows = [
            (
                str(v.name),
                str(v.target),
                ", ".join(f"{a} -> {b}" for a, b in v.renamed) or "-",
                ", ".join(v.computed) or "-",
                "\n".join(v.instead_of) or "-",
                "\n".join(str(f) for f in v.functions) or "-",
            )
            for v in views
        ]
        title = f"Compatibility views in {reading.evidence.database}"
        console.print(
            _table(title, ("view", "target", "renamed", "computed", "INSTEAD OF", "functions"), rows)
        )
        drift = [(str(d.legacy), d.kind, d.detail, d.migration or "-") for d in reading.drift]
        if drift:
            console.print(
                _table("Drift from the migrations (LR106)", ("view", "drift", "detail", "migration"), drift)
            )
        else:
            console.print("No drift: the database has the compatibility views the migrations define.")
    sys.exit(1 if reading.drift else 0)


@db_group.command("dependents")
@path_argument
@config_option
@legacy_option
@database_url_option
@_FORMAT
def dependents_command(
    path: str, config_file: str | None, legacy: tuple[str, ...], database_url: str | None, fmt: str
) -> None:
    """Every object in the database that depends on a legacy view (LR104), in any schema."""
    from auditor.database.witness import read_database

    request = _request(database_url, config_file, path)
    catalog, migrations = _catalog(path, config_file, legacy)
    reading = _guarded(lambda: read_database(request, catalog, migrations))
    if not reading.catalog:
        fail(EMPTY_CATALOG)
    if fmt == "json":
        document = [
            {"legacy": str(d.legacy), "kind": d.kind, "name": d.name, "via": list(d.via)}
            for d in reading.dependents
        ]
        click.echo(json.dumps(document, indent=2))
    else:
        rows = [(str(d.legacy), d.kind, d.name, " → ".join(d.via) or "-") for d in reading.dependents]
        title = f"Objects in {reading.evidence.database} that depend on legacy views (LR104)"
        Console().print(_table(title, ("legacy view", "kind", "object", "through"), rows))
    sys.exit(1 if reading.dependents else 0)


@db_group.command("usage")
@path_argument
@config_option
@legacy_option
@database_url_option
@click.option(
    "--since",
    type=click.Path(dir_okay=False),
    help="Count only what ran after this snapshot (`audit db snapshot`); else since the counters' reset.",
)
@_FORMAT
def usage_command(
    path: str,
    config_file: str | None,
    legacy: tuple[str, ...],
    database_url: str | None,
    since: str | None,
    fmt: str,
) -> None:
    """The statements that read a legacy view in the observation window, per role (pg_stat_statements)."""
    from auditor.database.catalog import catalog_schemas, read_views, with_live_views
    from auditor.database.connect import describe, read_only_session
    from auditor.database.usage import read_snapshot, read_statements, usage_evidence

    request = _request(database_url, config_file, path, since)
    catalog, _ = _catalog(path, config_file, legacy)

    def read() -> Any:
        snapshot = read_snapshot(since) if since else None
        with read_only_session(request.url) as session:
            views = read_views(session, catalog_schemas(catalog), catalog.default_schema)
            live = with_live_views(catalog, views)
            statements = read_statements(session)
        if isinstance(statements, DatabaseError):
            raise statements
        return usage_evidence(statements, live, describe(request.url), snapshot), live

    evidence, live = _guarded(read)
    if not live:
        fail(EMPTY_CATALOG)
    if not evidence.usage_observed:
        fail(evidence.usage_note)  # part of the traffic is invisible: no answer rather than a wrong one
    if fmt == "json":
        from auditor.plan.plan import database_to_dict

        click.echo(json.dumps(database_to_dict(evidence), indent=2))
    else:
        from auditor.database.usage import describe_window, per_role

        console = Console()
        console.print(
            f"Usage of legacy views in {evidence.database}, {describe_window(evidence)}", highlight=False
        )
        rows = [
            (role, name, str(n), str(calls), str(rows))
            for role, name, n, calls, rows in per_role(evidence.usage)
        ]
        console.print(_table("Per role", ("role", "legacy view", "statements", "calls", "rows"), rows))
        statements = [
            (u.role, " ".join(u.query.split())[:120], str(u.calls), str(u.rows), f"{u.total_ms:.1f}")
            for u in evidence.usage
        ]
        console.print(_table("Statements (LR105)", ("role", "statement", "calls", "rows", "ms"), statements))
    sys.exit(1 if evidence.usage else 0)


@db_group.command("snapshot")
@config_option
@database_url_option
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    help="The snapshot file (written atomically).",
)
def snapshot_command(config_file: str | None, database_url: str | None, output: str) -> None:
    """Record the pg_stat_statements counters, to start an observation window (`audit db usage --since`)."""
    from auditor.database.connect import describe, read_only_session
    from auditor.database.usage import read_statements, write_snapshot

    request = _request(database_url, config_file, ".")

    def read() -> Any:
        with read_only_session(request.url) as session:
            statements = read_statements(session)
        if isinstance(statements, DatabaseError):
            raise statements
        return statements

    statements = _guarded(read)
    write_snapshot(statements, describe(request.url), output)
    click.echo(f"audit: wrote {output}: {len(statements.rows)} statement counter(s) at {statements.read_at}.")
    sys.exit(0)
