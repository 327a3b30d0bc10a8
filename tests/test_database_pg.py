"""The live database as a second witness, on a real PostgreSQL 15 with pg_stat_statements.

Three databases share one cluster: ``shop`` (the fixture's migrations, objects made by hand, traffic from
``anon`` and ``authenticated`` around a snapshot), ``quiet`` (the migrations only, no traffic) and ``bare``
(no pg_stat_statements, a dropped and a redefined compatibility view). The tool connects as ``auditor``, a
password role with no privilege but pg_read_all_stats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.conftest import FIXTURES, run_cli

SHOP = FIXTURES / "shop"
PASSWORD = "s3cret-Pw-42"

pytestmark = pytest.mark.skipif(pg.missing_reason() is not None, reason=str(pg.missing_reason()))

HAND_MADE = """
create view public.order_export as
  select o.id, li.quantity from public.orders o join public.order_line_items li on li.order_id = o.id;
create view public.order_export_totals as
  select id, sum(quantity) as quantity from public.order_export group by id;
create function public.product_title(p bigint) returns text language plpgsql stable as $$
begin
  return (select title from products where id = p);
end
$$;
create view public.products_v0 as
  select id, title as name, price_cents / 100.0 as price from public.catalog_items;
"""


def _traffic(cluster: pg.Cluster, role: str, sql: str, times: int) -> None:
    cluster.psql(db="shop", sql=f"SET ROLE {role}; " + " ".join([sql] * times))


@dataclass
class Databases:
    cluster: pg.Cluster
    snapshot: Path

    def url(self, db: str, password: str = PASSWORD, port: int | None = None, role: str = "auditor") -> str:
        return f"postgresql://{role}:{password}@127.0.0.1:{port or self.cluster.port}/{db}"


def _apply_migrations(cluster: pg.Cluster, db: str) -> None:
    cluster.createdb(db)
    for migration in sorted((SHOP / "supabase" / "migrations").glob("*.sql")):
        cluster.psql(file=migration, db=db)


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    cluster = pg.start_cluster(preload=("pg_stat_statements",))
    try:
        hba = cluster.data / "pg_hba.conf"
        # the auditor role must give its password; everybody else keeps trust
        hba.write_text("host all auditor,auditor_lite 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        cluster.psql(sql="select pg_reload_conf()")
        cluster.psql(
            sql=f"create role auditor login password '{PASSWORD}'; grant pg_read_all_stats to auditor;"
            f"create role auditor_lite login password '{PASSWORD}';"
        )
        for db in ("shop", "quiet", "bare"):
            _apply_migrations(cluster, db)
        for db in ("shop", "quiet"):
            cluster.psql(db=db, sql="create extension pg_stat_statements")
        cluster.createdb("locked")
        cluster.psql(sql="revoke connect on database locked from public")
        cluster.psql(db="shop", sql=HAND_MADE)
        cluster.psql(
            db="bare",
            sql="drop view public.products; create or replace view public.customer_addresses as select id, "
            "customer_id, street as line1, street as city, postal_code, country from public.addresses",
        )
        cluster.psql(db="shop", sql="select pg_stat_statements_reset()")
        # first batch: before the snapshot
        _traffic(cluster, "anon", "select id, title from public.products where id = 1;", 3)
        _traffic(
            cluster, "authenticated", "select quantity from public.order_line_items where order_id = 7;", 2
        )
        databases = Databases(cluster, tmp_path_factory.mktemp("usage") / "before.json")
        url = databases.url("shop")
        code, out, err = run_cli("db", "snapshot", "--database-url", url, "-o", str(databases.snapshot))
        assert code == 0, err
        assert "statement counter(s)" in out
        # second batch: in the window
        _traffic(cluster, "anon", "select id, title from public.products where id = 2;", 1)
        _traffic(cluster, "authenticated", "select city from public.customer_addresses where id = 3;", 4)
        yield databases
    finally:
        cluster.stop()


def _json(*args: str, code: int) -> Any:
    exit_code, out, err = run_cli(*args)
    assert exit_code == code, err
    return json.loads(out)


def test_catalog_lists_the_live_compatibility_views_and_their_drift(dbs: Databases) -> None:
    data = _json("db", "catalog", str(SHOP), "--database-url", dbs.url("shop"), "--format", "json", code=1)
    views = {v["legacy"]: v for v in data["views"]}
    assert sorted(views) == [
        "public.customer_addresses",
        "public.order_line_items",
        "public.products",
        "public.products_v0",
    ]
    assert views["public.customer_addresses"]["columns"] == {"line1": "street"}
    items = views["public.order_line_items"]
    assert items["target"] == "public.order_line_items_v2"
    assert items["instead_of_triggers"] == [
        f"order_line_items_{op} on public.order_line_items" for op in ("delete", "insert", "update")
    ]
    assert items["functions"] == [
        f"public.order_line_items_compat_{op}" for op in ("delete", "insert", "update")
    ]
    made = views["public.products_v0"]
    assert (made["columns"], made["computed"], made["in_migrations"]) == ({"name": "title"}, ["price"], False)
    assert [(d["legacy"], d["kind"]) for d in data["drift"]] == [("public.products_v0", "only-in-database")]


def test_drift_when_the_database_lost_or_changed_a_view(dbs: Databases) -> None:
    data = _json("db", "catalog", str(SHOP), "--database-url", dbs.url("bare"), "--format", "json", code=1)
    drift = {d["legacy"]: d for d in data["drift"]}
    assert {name: d["kind"] for name, d in drift.items()} == {
        "public.customer_addresses": "differs",
        "public.products": "missing-in-database",
    }
    assert "city -> street" in drift["public.customer_addresses"]["detail"]
    assert drift["public.products"]["migration"].startswith(
        "supabase/migrations/20240202110000_rename_addresses_and_products.sql:"
    )
    code, out, err = run_cli("db", "catalog", str(SHOP), "--database-url", dbs.url("quiet"))
    assert code == 0, err
    assert "No drift" in out


def test_dependents_in_any_schema_including_hand_made_ones(dbs: Databases) -> None:
    data = _json("db", "dependents", str(SHOP), "--database-url", dbs.url("shop"), "--format", "json", code=1)
    found = {(d["legacy"], d["kind"], d["name"], tuple(d["via"])) for d in data}
    items = "public.order_line_items"
    assert found == {
        ("public.customer_addresses", "view", "public.v_customer_labels", ()),
        (items, "function", "public.order_item_count", ()),
        (items, "function", "public.order_revenue_cents", ()),
        (items, "function", "public.recalc_order_status", ()),
        (items, "policy", "customers read orders with items on public.orders", ()),
        (items, "view", "public.order_summary", ()),
        # made by hand: no migration mentions them
        (items, "view", "public.order_export", ()),
        (items, "view", "public.order_export_totals", ("view public.order_export",)),
        ("public.products", "function", "public.product_title", ()),
    }


def test_usage_per_role_over_the_whole_window_and_since_a_snapshot(dbs: Databases) -> None:
    url = dbs.url("shop")
    whole = _json("db", "usage", str(SHOP), "--database-url", url, "--format", "json", code=1)
    since = _json(
        "db",
        "usage",
        str(SHOP),
        "--database-url",
        url,
        "--since",
        str(dbs.snapshot),
        "--format",
        "json",
        code=1,
    )

    def per_role(document: dict[str, Any]) -> dict[tuple[str, str], int]:
        calls: dict[tuple[str, str], int] = {}
        for usage in document["usage"]:
            for legacy in usage["legacy"]:
                calls[usage["role"], legacy] = calls.get((usage["role"], legacy), 0) + usage["calls"]
        return calls

    assert whole["usage_observed"] and not whole["usage_note"], whole
    assert per_role(whole) == {
        ("anon", "public.products"): 4,
        ("authenticated", "public.order_line_items"): 2,
        ("authenticated", "public.customer_addresses"): 4,
    }, whole
    assert per_role(since) == {
        ("anon", "public.products"): 1,
        ("authenticated", "public.customer_addresses"): 4,
    }, since
    assert whole["window"]["source"] == "pg_stat_statements reset"
    assert since["window"]["source"] == "snapshot before.json"
    start = datetime.fromisoformat
    assert start(since["window"]["start"]) > start(whole["window"]["start"])
    # the two readings are taken one after the other: compare their starts, not their lengths
    assert 0 < since["window"]["seconds"] < 600 and 0 < whole["window"]["seconds"] < 600, (whole, since)


def test_a_snapshot_of_another_database_is_refused(dbs: Databases) -> None:
    code, _, err = run_cli(
        "db", "usage", str(SHOP), "--database-url", dbs.url("quiet"), "--since", str(dbs.snapshot)
    )
    assert code == 2 and "snapshot of database shop, not quiet" in err


def test_plan_weighs_code_dependents_and_usage(dbs: Databases) -> None:
    static = _json("plan", str(SHOP), "--accept-unresolved", "--format", "json", code=0)
    assert {o["legacy"]: o["status"] for o in static["objects"]}["public.products"] == "ready"

    plan = _json(
        "plan", str(SHOP), "--database-url", dbs.url("shop"), "--usage-since", str(dbs.snapshot), "--format",
        "json", code=0,
    )  # fmt: skip
    objects = {o["legacy"]: o for o in plan["objects"]}
    products = objects["public.products"]
    assert products["status"] == "blocked"
    assert {(b["kind"], b["rule"], b["path"]) for b in products["blockers"]} == {
        ("database", "LR104", "db:public.product_title"),
        ("usage", "LR105", "db:pg_stat_statements"),
    }
    assert objects["public.products_v0"]["counts"]["drift"] == 1
    assert plan["database"]["window"]["source"] == "snapshot before.json"
    # order_line_items was only used before the snapshot: no usage blocker in this window
    assert objects["public.order_line_items"]["counts"]["usage"] == 0

    quiet = _json(
        "plan",
        str(SHOP),
        "--accept-unresolved",
        "--database-url",
        dbs.url("quiet"),
        "--format",
        "json",
        code=0,
    )
    assert {o["legacy"]: o["status"] for o in quiet["objects"]}["public.products"] == "ready"
    assert quiet["database"]["usage"] == [] and quiet["database"]["usage_observed"]

    code, out, err = run_cli("plan", str(SHOP), "--database-url", dbs.url("shop"), "--format", "markdown")
    assert code == 0, err
    assert "## The live database" in out
    assert "| anon | `public.products` | 1 | 4 | 0 |" in out
    assert "- usage: 1 statement\\(s\\) by anon in the " in out
    text = run_cli("plan", str(SHOP), "--database-url", dbs.url("shop"))[1]
    assert "Evidence per legacy object" in text and "usage: no statement in the" in text
    html = run_cli("plan", str(SHOP), "--database-url", dbs.url("shop"), "--format", "html")[1]
    assert '<table id="usage">' in html and "<td>authenticated</td>" in html


def test_scan_reports_the_database_findings(dbs: Databases) -> None:
    data = _json("scan", str(SHOP), "--no-cache", "--jobs", "1", "--format", "json",
                 "--database-url", dbs.url("shop"), code=1)  # fmt: skip
    by_rule: dict[str, set[tuple[str, str]]] = {}
    for finding in data["findings"]:
        by_rule.setdefault(finding["rule"], set()).add((finding["path"], finding["block"]))
    assert ("db:public.products_v0", "db:view public.products_v0") in by_rule["LR106"]
    assert ("db:public.order_export", "db:view public.order_export") in by_rule["LR104"]
    # located at the migration that created it when the scan saw it
    assert ("supabase/migrations/20240215143000_order_reporting.sql", "db:view public.order_summary") in (
        by_rule["LR104"]
    )
    assert {block for _, block in by_rule["LR105"]} == {"db:role anon", "db:role authenticated"}
    # the compatibility view made by hand joins the catalog
    assert {"legacy": "public.products_v0", "source": "db:public.products_v0"}.items() <= next(
        e for e in data["catalog"] if e["legacy"] == "public.products_v0"
    ).items()


def test_without_pg_stat_statements_usage_is_unknown_and_nothing_is_ready(dbs: Databases) -> None:
    code, _, err = run_cli("db", "usage", str(SHOP), "--database-url", dbs.url("bare"))
    assert code == 2
    assert "pg_stat_statements is not installed" in err and "shared_preload_libraries" in err
    assert len(err.strip().splitlines()) == 1
    plan = _json("plan", str(SHOP), "--database-url", dbs.url("bare"), "--format", "json", code=0)
    assert {o["status"] for o in plan["objects"]} == {"blocked"}
    assert plan["database"]["usage_observed"] is False
    # the rest still works: dependents are read
    assert _json("db", "dependents", str(SHOP), "--database-url", dbs.url("bare"), "--format", "json", code=1)


def test_a_role_that_cannot_see_other_roles_statements_gets_no_answer(dbs: Databases) -> None:
    url = dbs.url("shop", role="auditor_lite")  # not a member of pg_read_all_stats
    code, _, err = run_cli("db", "usage", str(SHOP), "--database-url", url)
    assert code == 2 and "pg_read_all_stats" in err
    plan = _json("plan", str(SHOP), "--database-url", url, "--format", "json", code=0)
    assert {o["status"] for o in plan["objects"]} == {"blocked"}
    assert "hidden" in plan["database"]["usage_note"]


def test_connection_errors_are_one_line_and_never_show_the_password(dbs: Databases) -> None:
    wrong = dbs.url("shop", password="not-the-Pw-99")
    closed = pg._free_port()  # nothing listens there
    cases = {
        "password authentication failed": wrong,
        "cannot connect": dbs.url("shop", port=closed),
        "permission denied for database": dbs.url("locked"),
        'invalid integer value "notaport"': "postgresql://auditor:not-the-Pw-99@127.0.0.1:notaport/shop",
    }
    for expected, url in cases.items():
        for command in (("db", "dependents", str(SHOP)), ("scan", str(SHOP), "--no-cache")):
            code, out, err = run_cli(*command, "--database-url", url)
            assert code == 2, (command, url, out)
            assert expected in err and "not-the-Pw-99" not in err + out
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    # optional: a diagnostic, and the static result
    data = _json("scan", str(SHOP), "--no-cache", "--jobs", "1", "--format", "json", "--database-url", wrong,
                 "--database", "optional", code=1)  # fmt: skip
    assert any(d["kind"] == "database" for d in data["diagnostics"])
    assert not any(f["rule"] in ("LR106", "LR104", "LR105") for f in data["findings"])


def test_database_url_from_the_config_with_an_environment_variable(
    dbs: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "audit.toml"
    config.write_text(
        f'database_url = "postgresql://auditor:${{AUDIT_TEST_PW}}@127.0.0.1:{dbs.cluster.port}/shop"\n'
    )
    monkeypatch.delenv("AUDIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("AUDIT_TEST_PW", raising=False)
    code, _, err = run_cli("db", "dependents", str(SHOP), "--config", str(config))
    assert code == 2 and "${AUDIT_TEST_PW}" in err
    monkeypatch.setenv("AUDIT_TEST_PW", PASSWORD)
    assert _json("db", "dependents", str(SHOP), "--config", str(config), "--format", "json", code=1)
    monkeypatch.setenv("AUDIT_DATABASE_URL", dbs.url("quiet"))
    code, out, err = run_cli("db", "catalog", str(SHOP), "--config", str(config))
    assert code == 0 and "No drift" in out  # the environment wins over the config


def test_the_tool_wrote_nothing(dbs: Databases) -> None:
    """Every statement the auditor role ran (pg_stat_statements sees them too) only reads."""
    run_cli("plan", str(SHOP), "--database-url", dbs.url("shop"))
    rows = dbs.cluster.value(
        "select string_agg(distinct lower(split_part(ltrim(query), ' ', 1)), ',') from pg_stat_statements s "
        "join pg_roles r on r.oid = s.userid where r.rolname = 'auditor'",
        db="shop",
    )
    assert set(rows.split(",")) <= {"select", "set", "with", "begin", "rollback", "savepoint", "release"}, (
        rows
    )
    assert "select" in rows.split(",")
    privileges = dbs.cluster.value(
        "select count(*) from information_schema.table_privileges where grantee = 'auditor'", db="shop"
    )
    assert privileges == "0"
