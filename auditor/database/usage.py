"""Who still queries the legacy views: ``pg_stat_statements``, and snapshots that bound the window.

``pg_stat_statements`` keeps cumulative counters without timestamps. Without a snapshot the observation
window runs from the counters' last reset (``pg_stat_statements_info.stats_reset``); ``audit db snapshot``
records the counters to a file and ``--since FILE`` subtracts them, so the window starts at the snapshot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditor.catalog.names import LegacyCatalog
from auditor.core.model import Confidence, DatabaseEvidence, Finding, Span, StatementUsage
from auditor.core.output import write_atomic
from auditor.database.catalog import legacy_in_sql
from auditor.database.connect import DatabaseError, Session

SNAPSHOT_FORMAT = "audit-usage-snapshot/1"
ENABLE_HINT = (
    "add pg_stat_statements to shared_preload_libraries, restart, and run "
    "CREATE EXTENSION pg_stat_statements (on Supabase: enable it under Database → Extensions)"
)
_HIDDEN = "<insufficient privilege>"
_UNREADABLE = "<text unreadable>"  # NULL: the extension could not read its query-text file

_EXTENSION_QUERY = """
SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""
_NOW_QUERY = "SELECT now() AS now, current_database() AS db"


@dataclass(frozen=True, slots=True)
class Counters:
    calls: int
    rows: int
    total_ms: float


@dataclass(frozen=True, slots=True)
class Statements:
    """The counters as read now: (userid, queryid, toplevel) -> role, text, counters."""

    read_at: str
    stats_reset: str | None
    rows: dict[str, tuple[str, int, str, Counters]]  # key -> (role, queryid, query, counters)
    dbname: str = ""
    dealloc: int = 0  # entries evicted since the reset (pg_stat_statements.max was reached)


def read_statements(session: Session) -> Statements | DatabaseError:
    """The counters of the current database, or why they cannot be read (with how to enable them)."""
    now = session.rows(_NOW_QUERY)[0]
    extension = session.rows(_EXTENSION_QUERY)
    if not extension:
        return DatabaseError(f"{session.where}: pg_stat_statements is not installed: {ENABLE_HINT}")
    schema = '"' + str(extension[0]["schema"]).replace('"', '""') + '"'
    rows = session.savepoint_rows(
        f"SELECT s.userid::bigint AS userid, coalesce(r.rolname, s.userid::text) AS role, s.queryid, "
        f"s.toplevel, s.query, s.calls, s.rows, s.total_exec_time AS total_ms "
        f"FROM {schema}.pg_stat_statements s LEFT JOIN pg_roles r ON r.oid = s.userid "
        f"WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    if isinstance(rows, DatabaseError):
        return DatabaseError(f"{rows}; {ENABLE_HINT}")
    info = session.savepoint_rows(f"SELECT stats_reset, dealloc FROM {schema}.pg_stat_statements_info")
    known = not isinstance(info, DatabaseError) and bool(info)
    reset = _iso(info[0]["stats_reset"]) if known else None  # type: ignore[index]
    dealloc = int(info[0]["dealloc"] or 0) if known else 0  # type: ignore[index]
    table = {
        f"{r['userid']}:{r['queryid']}:{r['toplevel']}": (
            str(r["role"]),
            int(r["queryid"] or 0),
            _UNREADABLE if r["query"] is None else str(r["query"]),
            Counters(int(r["calls"]), int(r["rows"]), float(r["total_ms"])),
        )
        for r in rows
    }
    return Statements(_iso(now["now"]) or "", reset, table, str(now["db"]), dealloc)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# snapshots -------------------------------------------------------------------------------------------------


def write_snapshot(statements: Statements, database: str, path: str) -> None:
    document = {
        "format": SNAPSHOT_FORMAT,
        "database": database,
        "taken_at": statements.read_at,
        "stats_reset": statements.stats_reset,
        "dbname": statements.dbname,
        "dealloc": statements.dealloc,
        "counters": {k: [c.calls, c.rows, c.total_ms] for k, (_, _, _, c) in sorted(statements.rows.items())},
    }
    write_atomic(path, json.dumps(document, indent=1) + "\n")


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: str
    taken_at: str
    stats_reset: str | None
    counters: dict[str, Counters]
    dbname: str = ""
    dealloc: int = 0


def read_snapshot(path: str) -> Snapshot:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        if document.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not an {SNAPSHOT_FORMAT} file")
        counters = {k: Counters(int(v[0]), int(v[1]), float(v[2])) for k, v in document["counters"].items()}
        return Snapshot(
            path,
            str(document["taken_at"]),
            document.get("stats_reset"),
            counters,
            str(document.get("dbname") or ""),
            int(document.get("dealloc") or 0),
        )
    except OSError as exc:
        raise DatabaseError(f"cannot read snapshot {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise DatabaseError(f"{path}: not a usage snapshot ({exc})") from None


# usage -----------------------------------------------------------------------------------------------------


def usage_evidence(
    statements: Statements | DatabaseError,
    catalog: LegacyCatalog,
    database: str,
    since: Snapshot | None,
) -> DatabaseEvidence:
    """The statements that read a legacy view in the window, per role (unknown when unreadable)."""
    if isinstance(statements, DatabaseError):
        return DatabaseEvidence(database, "", False, str(statements), None, "none")
    window_start, source, baseline = statements.stats_reset, "pg_stat_statements reset", {}
    evicted = statements.dealloc
    if since is not None:
        if since.dbname and since.dbname != statements.dbname:
            raise DatabaseError(
                f"{since.path} is a snapshot of database {since.dbname}, not {statements.dbname}"
            )
        if since.stats_reset == statements.stats_reset:
            window_start, baseline = since.taken_at, since.counters
            evicted -= since.dealloc
            source = f"snapshot {os.path.basename(since.path)}"
        else:
            source = f"pg_stat_statements reset after snapshot {os.path.basename(since.path)}"
    usage: list[StatementUsage] = []
    hidden = unreadable = 0
    for key, (role, queryid, query, counters) in sorted(statements.rows.items()):
        before = baseline.get(key, Counters(0, 0, 0.0))
        if counters.calls < before.calls:
            before = Counters(0, 0, 0.0)  # evicted and counted afresh since the snapshot
        calls = counters.calls - before.calls
        if calls <= 0:
            continue
        if query == _UNREADABLE:
            unreadable += 1
            continue
        if query.strip() == _HIDDEN:
            hidden += 1
            continue
        legacy = legacy_in_sql(query, catalog, definitions=False)
        if legacy:
            rows, total = counters.rows - before.rows, counters.total_ms - before.total_ms
            usage.append(StatementUsage(role, queryid, query, calls, rows, round(total, 3), tuple(legacy)))
    notes = []
    if hidden:
        notes.append(f"{hidden} statement(s) of other roles are hidden from this role "
                     "(<insufficient privilege>): grant it pg_read_all_stats")  # fmt: skip
    if unreadable:
        notes.append(f"the text of {unreadable} statement(s) could not be read from pg_stat_statements")
    if evicted > 0:
        notes.append(f"pg_stat_statements evicted {evicted} entr(y/ies) in the window (raise "
                     "pg_stat_statements.max): a rarely run statement may be missing")  # fmt: skip
    usage.sort(key=lambda u: (u.role, -u.calls, u.queryid))
    observed = not hidden and not unreadable and evicted <= 0
    return DatabaseEvidence(
        database, statements.read_at, observed, "; ".join(notes), window_start, source, tuple(usage)
    )


def usage_findings(evidence: DatabaseEvidence, catalog: LegacyCatalog) -> list[Finding]:
    """LR105 for each (statement, role, legacy view) seen in the window, at ``db:pg_stat_statements``."""
    window = describe_window(evidence)
    findings: list[Finding] = []
    for line, usage in enumerate(evidence.usage, start=1):
        text = " ".join(usage.query.split())
        shown = text if len(text) <= 120 else text[:119] + "…"
        for legacy in usage.legacy:
            entry = catalog.get(legacy)
            findings.append(
                Finding(
                    rule="LR105",
                    path="db:pg_stat_statements",
                    span=Span(line, 1, line, 1),
                    legacy=legacy,
                    target=entry.target if entry is not None else None,
                    block=f"db:role {usage.role}",
                    confidence=Confidence.HIGH,
                    message=f"Role `{usage.role}` ran a statement that reads the legacy view `{legacy}` "
                    f"{usage.calls} time(s) ({usage.rows} row(s), {usage.total_ms:.1f} ms) {window}: "
                    f"`{shown}`",
                    snippet=text[:200],
                    db_object=f"role {usage.role}",
                )
            )
    return findings


def describe_window(evidence: DatabaseEvidence) -> str:
    """``in the 3.2 days since snapshot x.json (2026-11-26T10:00:00+00:00)``."""
    seconds = evidence.window_seconds
    if seconds is None:
        return f"since {evidence.window_source} (start unknown)"
    return f"in the {duration(seconds)} since {evidence.window_source} ({evidence.window_start})"


def duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}s"
    return f"{seconds:.0f} seconds"


def per_role(usage: Sequence[StatementUsage]) -> list[tuple[str, str, int, int, int]]:
    """(role, legacy view, statements, calls, rows), sorted."""
    table: dict[tuple[str, str], list[int]] = {}
    for item in usage:
        for legacy in item.legacy:
            row = table.setdefault((item.role, str(legacy)), [0, 0, 0])
            row[0] += 1
            row[1] += item.calls
            row[2] += item.rows
    return [(role, legacy, *values) for (role, legacy), values in sorted(table.items())]  # type: ignore[misc]
