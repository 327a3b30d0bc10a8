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
            ITEMS,
            ITEMS_V2,
            "view",
            "supabase/migrations/0002_rename.sql:5",
            (("qty", "quantity"),),
            (
                "was a table: table renamed to public.order_line_items_v2 at "
                "supabase/migrations/0002_rename.sql:2",
                "shows every column of public.order_line_items_v2, unfiltered",
            ),
        ),
    )
    assert result.became_legacy == {ITEMS: LegacyPoint(1, RENAME.index("create view"), "", 0)}
    point = result.became_legacy[ITEMS]
    assert (point.path, point.line) == ("supabase/migrations/0002_rename.sql", 5)
    assert result.diagnostics == ()
    assert result.order == ("supabase/migrations/0001_init.sql", "supabase/migrations/0002_rename.sql")


def test_star_is_a_full_projection_and_a_filter_needs_other_evidence() -> None:
    sql = """create view items as select * from items_v2;
create view "Orders" as select o.* from sales.orders_v2 o where not o.deleted;"""
    result = catalog_from_migrations([("m/1.sql", sql)], "public")
    assert [(str(o.legacy), str(o.target), o.columns, o.source) for o in result.objects] == [
        ("public.items", "public.items_v2", (), "m/1.sql:1"),
    ]
    renamed = "alter table sales.orders rename to orders_v2;\n" + sql.replace('"Orders"', "sales.orders")
    result = catalog_from_migrations([("m/1.sql", renamed)], "public")
    assert [(str(o.legacy), o.evidence) for o in result.objects] == [
        ("public.items", ("shows every column of public.items_v2 (*), unfiltered",)),
        ("sales.orders", ("was a table: table renamed to sales.orders_v2 at m/1.sql:1",)),
    ]


def test_an_ordinary_view_is_not_legacy() -> None:
    sql = """create table users (id bigint, name text, active boolean);
create view active_users as select id, name from users where active;
create view user_names as select id, name from users;"""
    assert catalog_from_migrations([("m/1.sql", sql)], "public").objects == ()


def test_instead_of_trigger_writing_one_table_is_evidence() -> None:
    sql = """create table items_v2 (id bigint, qty int, note text);
create view items as select id, qty from items_v2 where qty > 0;
create function items_insert() returns trigger language plpgsql as $$
begin
  insert into items_v2 (id, qty) values (new.id, new.qty);
  return new;
end $$;
create trigger items_ins instead of insert on items for each row execute function items_insert();"""
    (entry,) = catalog_from_migrations([("m/1.sql", sql)], "public").objects
    assert (str(entry.legacy), str(entry.target)) == ("public.items", "public.items_v2")
    assert entry.evidence == ("INSTEAD OF trigger items_ins writes to public.items_v2 (m/1.sql:8)",)


def test_compat_view_keeps_its_evidence_through_create_or_replace_with_computed_columns() -> None:
    files = [
        ("m/1.sql", "create table line_items (id bigint, qty int, unit_price numeric);"),
        ("m/2.sql", "alter table line_items rename to line_items_v2;\n"
                    "create view line_items as select * from line_items_v2;"),
        ("m/3.sql", "create or replace view line_items as\n"
                    "  select li.id, li.qty, li.unit_price, li.qty * li.unit_price as line_total,\n"
                    "         p.name as product\n"
                    "  from line_items_v2 li join products p on p.id = li.product_id where not li.deleted;"),
    ]  # fmt: skip
    (entry,) = catalog_from_migrations(files, "public").objects
    assert (str(entry.legacy), str(entry.target), entry.source) == (
        "public.line_items", "public.line_items_v2", "m/3.sql:1"
    )  # fmt: skip
    assert entry.computed == (("line_total", "li.qty * li.unit_price"), ("product", "p.name"))
    assert entry.evidence[0] == "was a table: table renamed to public.line_items_v2 at m/2.sql:1"


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


def test_only_drop_view_removes_an_entry() -> None:
    files = [
        (
            "m/1.sql",
            "create view items as select * from items_v2; create view orders as select * from orders_v2;",
        ),
        ("m/2.sql", "drop view if exists public.items;"),
        ("m/3.sql", "create or replace view orders as select o.id, o.total * 2 as double from orders_v2 o;"),
    ]
    assert [str(o.legacy) for o in catalog_from_migrations(files, "public").objects] == ["public.orders"]


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
