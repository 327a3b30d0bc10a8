"""The emitted Phase 3 migration, applied to a real PostgreSQL 15 after the project's own migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pg
from tests.conftest import FIXTURES, run_cli
from tests.test_plan import write_chain_project

SHOP = FIXTURES / "shop"

pytestmark = pytest.mark.skipif(pg.missing_reason() is not None, reason=str(pg.missing_reason()))


def apply_migrations(cluster: pg.Cluster, db: str, root: Path) -> None:
    cluster.createdb(db)
    for migration in sorted((root / "supabase" / "migrations").glob("*.sql")):
        cluster.psql(file=migration, db=db)


def emit(root: Path, out: Path) -> Path:
    code, stdout, stderr = run_cli("plan", str(root), "--emit-migration", str(out), "--accept-unresolved")
    assert code == 0, stderr
    (written,) = out.iterdir()
    assert str(written) in stdout
    return written


def exists(cluster: pg.Cluster, db: str, relation: str) -> bool:
    return cluster.value(f"select to_regclass('{relation}') is not null", db=db) == "t"


def test_shop_migration_drops_the_ready_views_only(cluster: pg.Cluster, tmp_path: Path) -> None:
    db = "shop"
    apply_migrations(cluster, db, SHOP)
    cluster.psql(
        db=db,
        sql="insert into public.customers (email, full_name) values ('a@example.com', 'A');"
        "insert into public.catalog_items (sku, title, price_cents) values ('s1', 'Shoe', 100);"
        "insert into public.orders (customer_id) select id from public.customers;"
        "insert into public.order_line_items (order_id, product_id, quantity, unit_price_cents) "
        # through the compatibility view's INSTEAD OF trigger
        "select o.id, c.id, 2, 100 from public.orders o, public.catalog_items c;",
    )
    written = emit(SHOP, tmp_path / "out")
    text = written.read_text()
    assert "DROP VIEW IF EXISTS public.products;" in text
    assert "order_line_items;" not in text and "customer_addresses;" not in text

    cluster.psql(file=written, db=db)

    assert not exists(cluster, db, "public.products")
    assert exists(cluster, db, "public.order_line_items") and exists(cluster, db, "public.customer_addresses")
    assert cluster.value("select count(*) from public.catalog_items", db=db) == "1"
    assert cluster.value("select count(*) from public.order_line_items_v2", db=db) == "1"
    assert cluster.value("select count(*) from public.addresses", db=db) == "0"
    assert (
        cluster.value("select relkind from pg_class where oid = 'public.catalog_items'::regclass", db=db)
        == "r"
    )

    # a blocked view: PostgreSQL refuses (objects depend on it), which is why it is not in the migration
    refused = cluster.psql(sql="DROP VIEW public.order_line_items", db=db, check=False)
    assert refused.returncode != 0
    assert "depend" in refused.stderr
    assert exists(cluster, db, "public.order_line_items")


def test_chain_migration_drops_in_dependency_order(cluster: pg.Cluster, tmp_path: Path) -> None:
    db = "chain"
    root = write_chain_project(tmp_path / "chain", with_code=False)
    apply_migrations(cluster, db, root)
    written = emit(root, tmp_path / "out")

    # the same statements in the wrong order fail: the labels view depends on the items view
    refused = cluster.psql(sql="DROP VIEW public.items", db=db, check=False)
    assert refused.returncode != 0 and "depend" in refused.stderr

    cluster.psql(file=written, db=db)
    for gone in ("public.items", "public.labels"):
        assert not exists(cluster, db, gone)
    assert cluster.value("select count(*) from pg_trigger where tgname = 'items_insert'", db=db) == "0"
    assert cluster.value("select to_regprocedure('public.items_compat_insert()') is null", db=db) == "t"
    assert cluster.value("select count(*) from public.items_v2", db=db) == "2"
    assert cluster.value("select count(*) from public.labels_v2", db=db) == "2"
