"""Compatibility views found in migrations, replayed in order."""

from __future__ import annotations

from auditor.core.model import LegacyObject, ObjectName
from auditor.sql.migrations import LegacyPoint, catalog_from_migrations

ITEMS = ObjectName("public", "order_line_items")
ITEMS_V2 = ObjectName("public", "order_line_items_v2")

INIT = """create table public.order_line_items (
  id bigint generated always as identity primary key,
  order_id bigint not null,
  qty integer not null
);
"""
RENAME = """-- phase 1: rename, keep the old name as a view
alter table public.order_line_items rename to order_line_items_v2;
alter table public.order_line_items_v2 rename column qty to quantity;

create view public.order_line_items as
  select id, order_id, quantity as qty
  from public.order_line_items_v2;
"""


def test_compat_view_with_renamed_column() -> None:
    result = catalog_from_migrations(
        [("supabase/migrations/0001_init.sql", INIT), ("supabase/migrations/0002_rename.sql", RENAME)],
        "public",
    )
    assert result.objects == (
        LegacyObject(
            ITEMS, ITEMS_V2, "view", "supabase/migrations/0002_rename.sql:5", (("qty", "quantity"),)
        ),
    )
    assert result.became_legacy == {ITEMS: LegacyPoint(1, RENAME.index("create view"), "", 0)}
    point = result.became_legacy[ITEMS]
    assert (point.path, point.line) == ("supabase/migrations/0002_rename.sql", 5)
    assert result.diagnostics == ()
    assert result.order == ("supabase/migrations/0001_init.sql", "supabase/migrations/0002_rename.sql")


def test_star_and_qualified_star_and_where_are_compat_views() -> None:
    sql = """create view items as select * from items_v2;
create view "Orders" as select o.* from sales.orders_v2 o where not o.deleted;"""
    result = catalog_from_migrations([("m/1.sql", sql)], "public")
    assert [(str(o.legacy), str(o.target), o.columns, o.source) for o in result.objects] == [
        ("public.items", "public.items_v2", (), "m/1.sql:1"),
        ("public.Orders", "sales.orders_v2", (), "m/1.sql:2"),
    ]


def test_column_list_form_maps_columns() -> None:
    sql = "CREATE VIEW public.items (id, quantity, note) AS SELECT id, qty, note FROM public.items_v2"
    (entry,) = catalog_from_migrations([("m/1.sql", sql)], "public").objects
    assert entry.columns == (("quantity", "qty"),)


def test_views_that_are_not_projections_are_not_legacy() -> None:
    sql = """
create view a as select order_id, count(*) from t group by order_id;
create view b as select x.id from t x join u on u.id = x.id;
create view c as select distinct id from t;
create view d as select id from t union select id from u;
create view e as select id, upper(name) as name from t;
create view f as select id, row_number() over () from t;
"""
    assert catalog_from_migrations([("m/1.sql", sql)], "public").objects == ()


def test_drop_removes_and_replace_with_real_view_removes() -> None:
    files = [
        (
            "m/1.sql",
            "create view items as select * from items_v2; create view orders as select * from orders_v2;",
        ),
        ("m/2.sql", "drop view if exists public.items;"),
        ("m/3.sql", "create or replace view orders as select o.id, count(*) from orders_v2 o group by o.id;"),
    ]
    assert catalog_from_migrations(files, "public").objects == ()


def test_renames_of_legacy_view_and_of_target() -> None:
    files = [
        ("m/1.sql", "create view items as select * from items_v2;"),
        (
            "m/2.sql",
            "alter view items rename to legacy_items;\nalter table public.items_v2 rename to line_items;",
        ),
    ]
    result = catalog_from_migrations(files, "public")
    assert [(str(o.legacy), str(o.target), o.source) for o in result.objects] == [
        ("public.legacy_items", "public.line_items", "m/1.sql:1"),
    ]
    assert result.became_legacy[ObjectName("public", "legacy_items")].path == "m/1.sql"


def test_chain_of_compat_views_resolves_to_the_final_target() -> None:
    sql = """create view b as select id, qty as quantity from a;
create view a as select id, amount as qty from a_v2;"""
    result = catalog_from_migrations([("m/1.sql", sql)], "public")
    by_name = {o.legacy.name: o for o in result.objects}
    assert by_name["a"].target == ObjectName("public", "a_v2")
    assert by_name["a"].columns == (("qty", "amount"),)
    assert by_name["b"].target == ObjectName("public", "a_v2")
    assert by_name["b"].columns == (("quantity", "amount"),)


def test_unparsable_view_definition_is_a_diagnostic() -> None:
    sql = "select 1;\n\ncreate view broken as select from where;"
    result = catalog_from_migrations([("m/1.sql", sql)], "public")
    assert result.objects == ()
    assert [(d.path, d.line, d.kind) for d in result.diagnostics] == [("m/1.sql", 3, "sql-parse")]
