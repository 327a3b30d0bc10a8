from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.core.model import Confidence, DbObject, Finding, LegacyObject, ObjectName, ScanResult, Span
from auditor.gate.fingerprint import fingerprints
from auditor.plan.migration import emit_migration
from auditor.plan.plan import build_plan, plan_json
from auditor.reports.json import to_json
from tests.conftest import FIXTURES, expected_lines, run_cli

SHOP = FIXTURES / "shop"

# Owners for a copy of the shop. The later, more specific rule for shop/api/addresses.py wins.
SHOP_CODEOWNERS = """\
*                       @shop/core
/shop/api/              @shop/api-team
/backoffice/            @shop/support @carol
supabase/migrations/    @shop/dba
db/queries/*.sql        @shop/analytics
/shop/reports/          @shop/analytics
shop/api/addresses.py   @erin
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".audit_cache"))
    # the example ships its CODEOWNERS; the expected owners below are read off this text
    assert (root / ".github" / "CODEOWNERS").read_text() == SHOP_CODEOWNERS
    return root


def plan_of(root: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli("plan", str(root), "--format", "json", "--jobs", "1", *extra)
    assert code == 0, err
    data = json.loads(out)
    assert data["schema_version"] == 1
    return data


def by_legacy(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {obj["legacy"]: obj for obj in plan["objects"]}


# --- the shop -----------------------------------------------------------------------------------------------


def test_shop_plan_unresolved_table_names_block_until_accepted(shop: Path) -> None:
    """Two LR005 sites could hold any legacy name: nothing is ready until a person accepts them."""
    objects = by_legacy(plan_of(shop))
    assert objects["public.products"]["status"] == "blocked"
    assert objects["public.products"]["reasons"] == ["unresolved table names"]
    assert objects["public.products"]["unresolved"] is True
    code, out, _ = run_cli("plan", str(shop), "-j", "1")
    assert code == 0 and "blocked: unresolved table names" in out and "Nothing is ready" in out


def test_shop_plan(shop: Path) -> None:
    plan = plan_of(shop, "--accept-unresolved")
    objects = by_legacy(plan)
    assert list(objects) == ["public.customer_addresses", "public.order_line_items", "public.products"]
    assert {name: obj["status"] for name, obj in objects.items()} == {
        "public.customer_addresses": "blocked",
        "public.order_line_items": "blocked",
        "public.products": "ready",  # README: "no users left"; nothing in the migrations depends on it
    }
    assert plan["drop_order"] == ["public.products"]
    assert objects["public.order_line_items"]["target"] == "public.order_line_items_v2"
    for obj in objects.values():
        assert obj["drop_after"] == []  # no legacy view is defined over another one in the shop

    # Every labelled reference to a legacy name blocks that name (LR005 blocks nothing in particular),
    # except those in Alembic and Django migrations: history, listed apart.
    labelled: dict[str, set[tuple[str, int, str]]] = {name: set() for name in objects}
    history: dict[str, set[tuple[str, int, str]]] = {name: set() for name in objects}
    for line in expected_lines(SHOP):
        where, rule, legacy = line.split()
        if legacy != "-":
            path, number, _ = where.split(":")
            in_migration = path.startswith(("alembic/versions/", "backoffice/migrations/")) or (
                path.startswith("supabase/migrations/") and rule == "LR101"
            )
            (history if in_migration else labelled)[legacy].add((path, int(number), rule))
    assert history["public.order_line_items"] == {
        ("alembic/versions/5b1e2c7d9a10_refund_lines.py", 36, "LR001"),
        ("alembic/versions/8c4f1a2b3d55_gift_card_lines.py", 22, "LR004"),
        ("backoffice/migrations/0002_refund_backfill.py", 18, "LR001"),
        ("supabase/migrations/20240215143000_order_reporting.sql", 52, "LR101"),
    }
    for name, obj in objects.items():
        assert {(b["path"], b["line"], b["rule"]) for b in obj["blockers"]} == labelled[name], name
        assert {(h["path"], h["line"], h["rule"]) for h in obj["history"]} == history[name], name
        assert obj["blockers"] == sorted(obj["blockers"], key=lambda b: (b["path"], b["line"]))

    # Database objects that still exist after all migrations and name the legacy views. Not among them: the
    # compatibility layer itself, objects bound by OID before the rename (order_totals, customer_directory,
    # the RLS policies of 20240110), and objects redefined on the new tables in 20240320090000.
    db_blockers = {
        name: sorted(
            (b["path"], b["block"].split(":", 1)[1]) for b in obj["blockers"] if b["kind"] == "db-object"
        )
        for name, obj in objects.items()
    }
    mig = "supabase/migrations/"
    assert db_blockers == {
        "public.customer_addresses": [
            (f"{mig}20240301120000_policies_and_labels.sql", "view public.v_customer_labels")
        ],
        "public.order_line_items": [
            ("db/queries/reporting_views.sql", "view reporting.item_velocity"),
            (f"{mig}20240101120000_init.sql", "function public.order_item_count"),
            (f"{mig}20240215143000_order_reporting.sql", "function public.order_revenue_cents"),
            (f"{mig}20240215143000_order_reporting.sql", "view public.order_summary"),
            (f"{mig}20240301120000_policies_and_labels.sql", "function public.recalc_order_status"),
            (
                f"{mig}20240301120000_policies_and_labels.sql",
                "policy customers read orders with items on public.orders",
            ),
        ],
        "public.products": [],
    }
    kinds = {name: {b["kind"] for b in obj["blockers"]} for name, obj in objects.items()}
    assert kinds["public.order_line_items"] == {"python", "sql-file", "db-object"}

    # References through constants carry the chain: legacy object first, then the constant.
    chains = {(b["path"], b["line"]): b["via"] for b in objects["public.order_line_items"]["blockers"]}
    items = ["public.order_line_items", "shop.db.tables.ORDER_ITEMS"]
    assert chains[("shop/db/tables.py", 16)] == items  # where the constant is written
    assert chains[("shop/api/cart.py", 32)] == items  # and where it is used
    assert chains[("shop/api/orders.py", 48)] == items
    assert chains[("shop/db/maintenance.py", 23)] == items
    assert chains[("shop/reports/queries.py", 6)] == [
        "public.order_line_items",
        "shop.reports.queries.WEEKLY_ITEMS",
    ]
    assert chains[("backoffice/models.py", 14)] == ["public.order_line_items"]
    addresses = {(b["path"], b["line"]): b["via"] for b in objects["public.customer_addresses"]["blockers"]}
    assert addresses[("shop/db/maintenance.py", 30)] == [
        "public.customer_addresses",
        "shop.db.tables.LEGACY_ADDRESSES",
    ]

    common = ["@carol", "@shop/analytics", "@shop/core", "@shop/dba", "@shop/support"]
    assert objects["public.customer_addresses"]["owners"] == sorted([*common, "@erin"])
    assert objects["public.order_line_items"]["owners"] == sorted([*common, "@shop/api-team"])
    assert objects["public.products"]["owners"] == []
    assert objects["public.products"]["blockers"] == []

    counts = objects["public.customer_addresses"]["counts"]
    assert counts["python"] + counts["sql-file"] + counts["db-object"] == len(
        labelled["public.customer_addresses"]
    )
    assert counts["mechanical"] + counts["manual"] == len(labelled["public.customer_addresses"])


def test_plan_key_of_scan_json_matches_audit_plan(shop: Path) -> None:
    from auditor.cli.options import load as _load
    from auditor.cli.options import run_scan as _run_scan

    result = _run_scan(str(shop), _load(str(shop), None), [], 1, False, accept_unresolved=True)
    document = json.loads(to_json(result, fingerprints(result.findings), extra={"plan": plan_json(result)}))
    standalone = plan_of(shop, "--accept-unresolved")
    del standalone["schema_version"]
    assert document["plan"] == standalone
    assert document["summary"]["ready_to_drop"] == standalone["drop_order"]


def test_plan_text_markdown_and_csv(shop: Path, tmp_path: Path) -> None:
    code, out, err = run_cli("plan", str(shop), "-j", "1", "--accept-unresolved")
    assert code == 0, err
    assert "Phase 3 plan" in out and "Safe drop order: public.products" in out

    output = tmp_path / "plan.md"
    code, _, err = run_cli(
        "plan", str(shop), "--format", "markdown", "-o", str(output), "--accept-unresolved"
    )
    assert code == 0, err
    markdown = output.read_text()
    assert markdown.startswith("# Phase 3 plan")
    assert "| `public.products` | `public.catalog_items` | 🟢 ready |" in markdown
    assert "[shop/api/cart.py:21](./shop/api/cart.py#L21)" in markdown
    assert "Owners: @carol, @erin, @shop/analytics, @shop/core, @shop/dba, @shop/support" in markdown
    assert "Suggested rewrites" in markdown and "`public.addresses`" in markdown
    assert "public.order_line_items → shop.db.tables.ORDER_ITEMS" in markdown

    code, out, _ = run_cli("plan", str(shop), "--format", "csv")
    assert code == 0
    rows = {(r["path"], r["line"]): r for r in csv.DictReader(io.StringIO(out))}
    assert rows[("shop/api/addresses.py", "17")]["owners"] == "@erin"
    assert rows[("backoffice/views.py", "16")]["owners"] == "@shop/support @carol"

    code, out, _ = run_cli("plan", str(shop), "--format", "sarif")
    assert code == 0 and json.loads(out)["version"] == "2.1.0"


def test_emit_migration_for_the_shop(shop: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run_cli("plan", str(shop), "--emit-migration", str(out_dir))
    assert code == 0 and "no migration written" in out, err  # the LR005 sites may hold public.products
    code, out, err = run_cli("plan", str(shop), "--emit-migration", str(out_dir), "--accept-unresolved")
    assert code == 0, err
    (written,) = out_dir.iterdir()
    assert written.name.endswith("_drop_legacy_views.sql") and len(written.name.split("_")[0]) == 14
    assert str(written) in out
    statements = [line for line in written.read_text().splitlines() if line and not line.startswith("--")]
    assert statements == ["DROP VIEW IF EXISTS public.products;"]


# --- legacy on legacy ---------------------------------------------------------------------------------------

CHAIN_INIT = """\
create table public.items (id int primary key, qty int not null);
create table public.labels (id int primary key, item_id int not null references public.items (id), txt text);
insert into public.items values (1, 5), (2, 7);
insert into public.labels values (1, 1, 'a'), (2, 2, 'b');
"""
CHAIN_RENAME = """\
alter table public.items rename to items_v2;
create view public.items as select id, qty from public.items_v2;
create function public.items_compat_insert() returns trigger language plpgsql as $$
begin
  insert into public.items_v2 (id, qty) values (new.id, new.qty);
  return new;
end;
$$;
create trigger items_insert instead of insert on public.items
  for each row execute function public.items_compat_insert();
alter table public.labels rename to labels_v2;
-- a legacy view defined over another legacy view
create view public.labels as
  select l.id, l.item_id, l.txt, i.qty
  from public.labels_v2 l join public.items i on i.id = l.item_id;
"""
CHAIN_CONFIG = '[tool.audit]\nlegacy = { "public.labels" = "public.labels_v2" }\n'


def write_chain_project(root: Path, with_code: bool) -> Path:
    """items (legacy, compat view with an INSTEAD OF trigger) <- labels (legacy view over items)."""
    migrations = root / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20240101000000_init.sql").write_text(CHAIN_INIT)
    (migrations / "20240201000000_rename.sql").write_text(CHAIN_RENAME)
    (root / "pyproject.toml").write_text(CHAIN_CONFIG)
    (root / "CODEOWNERS").write_text("* @db\napp/ @app-team\n")
    if with_code:
        (root / "app").mkdir()
        (root / "app" / "report.py").write_text(
            'def labels(cur):\n    return cur.execute("SELECT id, txt FROM labels").fetchall()\n'
        )
    return root


def test_a_blocker_of_a_blocker_is_a_blocker(tmp_path: Path) -> None:
    plan = by_legacy(plan_of(write_chain_project(tmp_path / "chain", with_code=True)))
    labels, items = plan["public.labels"], plan["public.items"]
    assert labels["status"] == "blocked"
    assert [(b["path"], b["line"], b["rule"], b["via"]) for b in labels["blockers"]] == [
        ("app/report.py", 2, "LR001", ["public.labels"])
    ]
    assert items["status"] == "blocked"
    assert [(b["path"], b["kind"], b["via"]) for b in items["blockers"]] == [
        ("app/report.py", "python", ["public.items", "public.labels"]),  # blocks labels, so blocks items
        ("supabase/migrations/20240201000000_rename.sql", "db-object", ["public.items"]),  # the labels view
    ]
    assert items["blockers"][1]["block"].endswith(":view public.labels")
    assert items["owners"] == ["@app-team", "@db"]
    assert items["drop_after"] == ["public.labels"]


def test_chain_without_users_drops_the_outer_view_first(tmp_path: Path) -> None:
    root = write_chain_project(tmp_path / "chain", with_code=False)
    plan = plan_of(root)
    assert plan["drop_order"] == ["public.labels", "public.items"]
    objects = by_legacy(plan)
    assert objects["public.items"]["status"] == "ready" and objects["public.items"]["blockers"] == []
    assert objects["public.items"]["drop_after"] == ["public.labels"]

    code, _, err = run_cli("plan", str(root), "--emit-migration", str(tmp_path / "out"))
    assert code == 0, err
    (written,) = (tmp_path / "out").iterdir()
    statements = [line for line in written.read_text().splitlines() if line and not line.startswith("--")]
    assert statements == [
        "DROP VIEW IF EXISTS public.labels;",
        "DROP TRIGGER IF EXISTS items_insert ON public.items;",
        "DROP FUNCTION IF EXISTS public.items_compat_insert();",
        "DROP VIEW IF EXISTS public.items;",
    ]


CHAIN_CASE = FIXTURES / "cases" / "legacy_chain"


def test_legacy_chain_case(tmp_path: Path) -> None:
    # cart_items is a compatibility view over order_line_items, itself a compatibility view over
    # order_line_items_v2; cart.py reads both legacy names and the view cart_report reads cart_items.
    root = tmp_path / "case"
    shutil.copytree(CHAIN_CASE, root, ignore=shutil.ignore_patterns(".audit_cache"))
    objects = by_legacy(plan_of(root))
    cart, items = objects["public.cart_items"], objects["public.order_line_items"]
    assert cart["status"] == items["status"] == "blocked"
    assert items["drop_after"] == ["public.cart_items"]
    cart_blockers = {(b["path"], b["line"], tuple(b["via"])) for b in cart["blockers"]}
    assert ("cart.py", 9, ("public.cart_items",)) in cart_blockers
    report = "supabase/migrations/20240315000000_cart_report.sql"
    assert (report, 4, ("public.cart_items",)) in cart_blockers
    item_blockers = {(b["path"], b["line"], tuple(b["via"])) for b in items["blockers"]}
    assert ("cart.py", 14, ("public.order_line_items",)) in item_blockers
    # whatever blocks cart_items blocks order_line_items too, through cart_items
    through = ("public.order_line_items", "public.cart_items")
    assert {("cart.py", 9, through), (report, 4, through)} <= item_blockers


def test_nothing_ready_writes_nothing(tmp_path: Path) -> None:
    root = write_chain_project(tmp_path / "chain", with_code=True)
    out_dir = tmp_path / "out"
    code, out, err = run_cli("plan", str(root), "--emit-migration", str(out_dir))
    assert code == 0, err
    assert "no migration written" in out and "public.items, public.labels" in out
    assert not out_dir.exists() or not any(out_dir.iterdir())


# --- cycles -------------------------------------------------------------------------------------------------


def _name(text: str) -> ObjectName:
    schema, name = text.split(".")
    return ObjectName(schema, name)


def _lr102(on: str, view: str, line: int) -> Finding:
    return Finding(
        rule="LR102",
        path="m.sql",
        span=Span(line, 1, line, 5),
        legacy=_name(on),
        target=None,
        block=f"m.sql:view {view}",
        confidence=Confidence.HIGH,
        message="m",
        snippet="s",
        db_object=f"view {view}",
    )


@pytest.fixture
def alarm() -> Iterator[None]:
    def timeout(*_: object) -> None:
        raise TimeoutError("the plan did not finish: a cycle is not handled")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_cycles_and_self_references_terminate_and_stay_blocked(alarm: None) -> None:
    names = ("public.a", "public.b", "public.c", "public.d", "public.e")
    result = ScanResult(
        root="/nonexistent",
        catalog=tuple(LegacyObject(_name(n), _name(n + "_v2"), "view", "m.sql:1") for n in names),
        findings=(
            _lr102("public.a", "public.b", 1),  # b over a
            _lr102("public.b", "public.a", 2),  # a over b: a cycle
            _lr102("public.c", "public.c", 3),  # c over itself
            _lr102("public.d", "public.a", 4),  # a (in the cycle) over d
        ),
        diagnostics=(),
        files_scanned=1,
        db_objects=tuple(
            DbObject("view", n, "m.sql", i, (_name(n + "_v2"),), True) for i, n in enumerate(names, start=10)
        ),
    )
    plan = build_plan(result, owners=lambda path: ["@o"])
    status = {obj.legacy: (obj.status, obj.cycle) for obj in plan.objects}
    assert status == {
        "public.a": ("blocked", True),
        "public.b": ("blocked", True),
        "public.c": ("blocked", True),
        "public.d": ("blocked", False),  # blocked by a view that can never be dropped
        "public.e": ("ready", False),
    }
    assert plan.drop_order == ("public.e",)
    d = plan.get("public.d")
    assert sorted(b.via for b in d.blockers) == [
        ("public.d",),
        ("public.d", "public.a"),
        ("public.d", "public.a", "public.b"),
    ]
    assert d.drop_after == ("public.a", "public.b")
    a = plan.get("public.a")
    assert [b.via for b in a.blockers] == [("public.a",), ("public.a", "public.b")]


def test_emit_migration_never_overwrites(tmp_path: Path) -> None:
    root = write_chain_project(tmp_path / "chain", with_code=False)
    from auditor.cli.options import load as _load
    from auditor.cli.options import run_scan as _run_scan

    plan = build_plan(_run_scan(str(root), _load(str(root), None), [], 1, False))
    now = dt.datetime(2025, 3, 1, 12, 0, 0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "20250301120000_other.sql").write_text("-- someone else's\n")
    first = emit_migration(plan, str(out), now)
    second = emit_migration(plan, str(out), now)
    assert first is not None and second is not None
    assert Path(first).name == "20250301120001_drop_legacy_views.sql"
    assert Path(second).name == "20250301120002_drop_legacy_views.sql"
    assert (out / "20250301120000_other.sql").read_text() == "-- someone else's\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "20250301120000_other.sql",
        "20250301120001_drop_legacy_views.sql",
        "20250301120002_drop_legacy_views.sql",
    ]
