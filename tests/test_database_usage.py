"""The observation window of pg_stat_statements counters: snapshots, resets and evictions."""

from __future__ import annotations

from auditor.catalog.names import LegacyCatalog
from auditor.core.model import LegacyObject, ObjectName
from auditor.database.usage import Counters, Snapshot, Statements, usage_evidence

CATALOG = LegacyCatalog(
    [LegacyObject(ObjectName("public", "products"), ObjectName("public", "catalog_items"), "view", "m.sql:1")]
)
QUERY = "select id, title from public.products where id = $1"
RESET = "2026-11-01T00:00:00+00:00"


def _now(calls: int, dealloc: int = 0, reset: str = RESET) -> Statements:
    rows = {"10:7:True": ("anon", 7, QUERY, Counters(calls, calls, 1.0))}
    return Statements("2026-11-03T00:00:00+00:00", reset, rows, "shop", dealloc)


def _snapshot(calls: int, dealloc: int = 0) -> Snapshot:
    return Snapshot("before.json", "2026-11-02T00:00:00+00:00", RESET, {"10:7:True": Counters(calls, 0, 0.0)},
                    "shop", dealloc)  # fmt: skip


def test_only_the_calls_after_the_snapshot_count() -> None:
    evidence = usage_evidence(_now(5), CATALOG, "db", _snapshot(3))
    assert [(u.role, u.calls) for u in evidence.usage] == [("anon", 2)]
    assert evidence.window_seconds == 86400 and evidence.window_source == "snapshot before.json"
    assert usage_evidence(_now(3), CATALOG, "db", _snapshot(3)).usage == ()


def test_a_reset_after_the_snapshot_starts_the_window_at_the_reset() -> None:
    later = "2026-11-02T12:00:00+00:00"
    evidence = usage_evidence(_now(1, reset=later), CATALOG, "db", _snapshot(3))
    assert [u.calls for u in evidence.usage] == [1]
    assert evidence.window_start == later and evidence.window_source.startswith(
        "pg_stat_statements reset after"
    )


def test_an_entry_evicted_and_counted_afresh_still_counts() -> None:
    assert [u.calls for u in usage_evidence(_now(2), CATALOG, "db", _snapshot(9)).usage] == [2]


def test_evictions_in_the_window_make_usage_unknown() -> None:
    assert usage_evidence(_now(5, dealloc=4), CATALOG, "db", _snapshot(3, dealloc=4)).usage_observed
    evidence = usage_evidence(_now(5, dealloc=6), CATALOG, "db", _snapshot(3, dealloc=4))
    assert not evidence.usage_observed and "evicted 2" in evidence.usage_note
