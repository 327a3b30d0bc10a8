"""LR101 / LR102 in .sql files: migrations replayed to their final state, other files as they are."""

from __future__ import annotations

from pathlib import Path

from auditor.catalog.names import LegacyCatalog
from auditor.core.model import Confidence, LegacyObject, ObjectName, Span, Suggestion
from auditor.sql.files import SqlFilesResult, analyze_sql_files
from auditor.sql.migrations import catalog_from_migrations
from tests.conftest import scan_json, write_tree

ITEMS = ObjectName("public", "order_line_items")
ITEMS_V2 = ObjectName("public", "order_line_items_v2")

M1 = """create table public.orders (id bigint primary key, owner uuid not null);
create table public.order_line_items (
  id bigint generated always as identity primary key,
  order_id bigint not null references public.orders (id),
  qty integer not null
);
create view public.order_totals as
  select order_id, sum(qty) as total from public.order_line_items group by order_id;
create function public.count_items() returns bigint language sql as $$
  select count(*) from public.order_line_items
$$;
"""
M2 = """-- phase 1: rename, keep a compatibility view
alter table public.order_line_items rename to order_line_items_v2;
alter table public.order_line_items_v2 rename column qty to quantity;

create view public.order_line_items as
  select id, order_id, quantity as qty
  from public.order_line_items_v2;

create or replace function public.order_line_items_insert() returns trigger
language plpgsql as $$
begin
  insert into public.order_line_items_v2 (order_id, quantity) values (new.order_id, new.qty);
  return new;
end;
$$;

create trigger order_line_items_insert
  instead of insert on public.order_line_items
  for each row execute function public.order_line_items_insert();

grant select, insert on public.order_line_items to authenticated;
comment on view public.order_line_items is 'compat: drop in phase 3';
update public.order_line_items set qty = 0 where qty < 0;
"""
M3 = """create view public.big_orders as
  select o.id, count(*) as items
  from public.orders o
  join public.order_line_items li on li.order_id = o.id
  group by o.id;

create or replace function public.refresh_totals(p_order bigint) returns numeric
language plpgsql as $$
declare
  v_total numeric;
begin
  select sum(qty) into v_total from public.order_line_items where order_id = p_order;
  return v_total;
end;
$$;

create policy "owners read orders" on public.orders for select
  using (exists (select 1 from order_line_items li where li.order_id = orders.id));

create table public.shipments (
  id bigint primary key,
  line_item_id bigint references public.order_line_items (id)
);

create view public.temp_report as select order_id, count(*) from public.order_line_items group by 1;
drop view public.temp_report;
create view public.fixed_report as select order_id, count(*) from public.order_line_items group by 1;
create or replace view public.fixed_report as
  select order_id, count(*) from public.order_line_items_v2 group by 1;
"""
MIGRATIONS = [
    ("supabase/migrations/0001_init.sql", M1),
    ("supabase/migrations/0002_compat.sql", M2),
    ("supabase/migrations/0003_more.sql", M3),
]
MIGRATION_PATHS = frozenset(p for p, _ in MIGRATIONS)


def run(extra: list[tuple[str, str]]) -> SqlFilesResult:
    migrations = catalog_from_migrations(MIGRATIONS, "public")
    catalog = LegacyCatalog(migrations.objects, "public")
    return analyze_sql_files([*MIGRATIONS, *extra], MIGRATION_PATHS, catalog, migrations)


def test_migration_history_final_state_blockers() -> None:
    result = run([])
    summary = [
        (f.rule, f.path, f.span.line, f.span.column, f.span.end_column, f.block)
        for f in result.findings
        if f.context is None
    ]
    # a statement run through the view once it exists is history: reported, never a blocker
    history = [(f.rule, f.path, f.span.line, f.context) for f in result.findings if f.context is not None]
    assert history == [("LR101", "supabase/migrations/0002_compat.sql", 23, "migration")]
    assert summary == [
        ("LR102", "supabase/migrations/0001_init.sql", 10, 31, 47,
         "supabase/migrations/0001_init.sql:function public.count_items"),
        ("LR102", "supabase/migrations/0003_more.sql", 4, 15, 31,
         "supabase/migrations/0003_more.sql:view public.big_orders"),
        ("LR102", "supabase/migrations/0003_more.sql", 12, 44, 60,
         "supabase/migrations/0003_more.sql:function public.refresh_totals"),
        ("LR102", "supabase/migrations/0003_more.sql", 18, 32, 48,
         "supabase/migrations/0003_more.sql:policy owners read orders on public.orders"),
        ("LR102", "supabase/migrations/0003_more.sql", 22, 41, 57,
         "supabase/migrations/0003_more.sql:foreign key (unnamed) on public.shipments"),
    ]  # fmt: skip
    assert result.diagnostics == []


def test_lr102_finding_fields_for_a_view() -> None:
    finding = next(f for f in run([]).findings if f.block.endswith("view public.big_orders"))
    assert finding.legacy == ITEMS
    assert finding.target == ITEMS_V2
    assert finding.confidence is Confidence.HIGH
    assert finding.db_object == "view public.big_orders"
    assert finding.snippet == "join public.order_line_items li on li.order_id = o.id"
    assert "refuses the DROP VIEW" in finding.message
    assert (
        "`public.order_line_items`" in finding.message and "`public.order_line_items_v2`" in finding.message
    )
    assert finding.suggestion == Suggestion(
        Span(4, 8, 4, 31),
        "public.order_line_items_v2",
        "Use public.order_line_items_v2 instead of the legacy view public.order_line_items "
        "and rename columns qty -> quantity.",
    )


def test_function_message_says_it_fails_at_run_time() -> None:
    finding = next(f for f in run([]).findings if "refresh_totals" in f.block)
    assert "will not refuse the DROP VIEW" in finding.message
    assert "fails at run time" in finding.message
    assert (
        finding.snippet
        == "select sum(qty) into v_total from public.order_line_items where order_id = p_order;"
    )


def test_unqualified_reference_in_policy_gets_unqualified_suggestion() -> None:
    finding = next(f for f in run([]).findings if "policy" in f.block)
    assert finding.suggestion is not None
    assert finding.suggestion.span == Span(18, 32, 18, 48)
    assert finding.suggestion.replacement == "order_line_items_v2"


def test_db_objects_mark_the_compat_layer() -> None:
    objects = {(o.kind, o.name): o for o in run([]).db_objects}
    assert objects[("view", "public.order_line_items")].is_compat_layer is True
    assert objects[("trigger", "order_line_items_insert on public.order_line_items")].is_compat_layer is True
    assert objects[("function", "public.order_line_items_insert")].is_compat_layer is True
    big = objects[("view", "public.big_orders")]
    assert (big.is_compat_layer, big.path, big.line) == (False, "supabase/migrations/0003_more.sql", 1)
    assert big.depends_on == (ObjectName("public", "orders"), ITEMS)
    # created while the name was the real table: bound by OID, PostgreSQL followed the rename
    assert ("view", "public.order_totals") not in objects
    assert ("view", "public.temp_report") not in objects
    assert ("view", "public.fixed_report") not in objects


def test_non_migration_query_file_lr101() -> None:
    report = """-- monthly report
SELECT order_id, sum(qty)
FROM public.order_line_items
GROUP BY order_id;

WITH order_line_items AS (SELECT * FROM order_line_items_v2) SELECT * FROM order_line_items;
SELECT * FROM "order_line_items" oli JOIN order_line_items_v2 v ON v.id = oli.id;
"""
    result = run([("db/queries/monthly.sql", report)])
    lr101 = [f for f in result.findings if f.rule == "LR101" and f.context is None]
    assert [(f.span, f.block, f.confidence, f.snippet) for f in lr101] == [
        (
            Span(3, 13, 3, 29),
            "db/queries/monthly.sql:<script>",
            Confidence.HIGH,
            "FROM public.order_line_items",
        ),
        (
            Span(7, 16, 7, 32),  # the name inside its quotes
            "db/queries/monthly.sql:<script>",
            Confidence.HIGH,
            'SELECT * FROM "order_line_items" oli JOIN order_line_items_v2 v ON v.id = oli.id;',
        ),
    ]
    assert [f.suggestion.replacement for f in lr101 if f.suggestion] == [
        "public.order_line_items_v2",
        '"order_line_items_v2"',
    ]
    assert lr101[0].suggestion is not None and lr101[0].suggestion.span == Span(3, 6, 3, 29)
    assert lr101[0].db_object is None


def test_non_migration_fallback_is_medium_confidence() -> None:
    job = "INSERT INTO order_line_items (order_id, qty) SELECT id, 1 FROM ${staging_table};\n"
    (finding,) = [f for f in run([("jobs/backfill.sql", job)]).findings if f.path == "jobs/backfill.sql"]
    assert (finding.rule, finding.span, finding.confidence) == (
        "LR101",
        Span(1, 13, 1, 29),
        Confidence.MEDIUM,
    )


def test_non_migration_object_definition_is_lr102_with_db_object() -> None:
    schema = """create or replace view reporting.item_counts as
  select order_id, count(*) from public.order_line_items group by order_id;
grant select on public.order_line_items to reporting;
drop view if exists public.order_line_items;
"""
    result = run([("db/reporting.sql", schema)])
    (finding,) = [f for f in result.findings if f.path == "db/reporting.sql"]
    assert (finding.rule, finding.span, finding.block) == (
        "LR102",
        Span(2, 41, 2, 57),
        "db/reporting.sql:view reporting.item_counts",
    )
    assert next(o for o in result.db_objects if o.path == "db/reporting.sql").depends_on == (ITEMS,)


def test_other_schema_target_is_qualified_in_suggestion() -> None:
    legacy = LegacyObject(ObjectName("public", "items"), ObjectName("sales", "items"), "name", "config")
    catalog = LegacyCatalog([legacy], "public")
    result = analyze_sql_files([("q.sql", "select * from items where id = $1")], frozenset(), catalog, None)
    (finding,) = result.findings
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == "sales.items"
    assert finding.suggestion.description == "Use sales.items instead of the legacy view public.items."


def test_config_only_legacy_names_are_legacy_from_the_start() -> None:
    files = [
        (
            "m/1.sql",
            "create table items (id int);\ncreate view v as select id from items where id > 0 and true;",
        )
    ]
    legacy = LegacyObject(ObjectName("public", "items"), ObjectName("public", "items_v2"), "name", "config")
    result = analyze_sql_files(files, frozenset({"m/1.sql"}), LegacyCatalog([legacy], "public"), None)
    assert [(f.rule, f.span, f.block) for f in result.findings] == [
        ("LR102", Span(2, 33, 2, 38), "m/1.sql:view public.v"),
    ]


def test_legacy_view_over_legacy_view_blocks_the_inner_one() -> None:
    files = [
        ("m/1.sql", "create view a as select * from a_v2;\n"),
        ("m/2.sql", "create view b as select id, qty as quantity from a;\n"),
    ]
    migrations = catalog_from_migrations(files, "public")
    catalog = LegacyCatalog(migrations.objects, "public")
    result = analyze_sql_files(files, frozenset({"m/1.sql", "m/2.sql"}), catalog, migrations)
    assert [(f.rule, f.path, f.span, f.block, str(f.legacy)) for f in result.findings] == [
        ("LR102", "m/2.sql", Span(1, 50, 1, 51), "m/2.sql:view public.b", "public.a"),
    ]


def test_renamed_and_dropped_objects_follow_the_history() -> None:
    files = [
        ("m/1.sql", "create view items as select * from items_v2;"),
        (
            "m/2.sql",
            "create function f() returns int language sql as $$ select 1 from items $$;\n"
            "alter function f rename to g;\n"
            "create function h() returns int language sql as $$ select 1 from items $$;\n"
            "drop function h;\n"
            "alter table shipments add constraint ship_item_fk foreign key (item_id) references items (id);\n"
            "alter table shipments drop constraint ship_item_fk;\n",
        ),
    ]
    migrations = catalog_from_migrations(files, "public")
    catalog = LegacyCatalog(migrations.objects, "public")
    result = analyze_sql_files(files, frozenset({"m/1.sql", "m/2.sql"}), catalog, migrations)
    assert [(f.span.line, f.block) for f in result.findings] == [(1, "m/2.sql:function public.g")]


def test_unknown_statement_kind_is_a_diagnostic_only() -> None:
    result = run([("db/odd.sql", "select 1;\n{ include x };\n")])
    assert [(d.path, d.line, d.kind) for d in result.diagnostics] == [("db/odd.sql", 2, "sql-parse")]


def test_a_relations_row_type_in_a_routine_is_a_use(tmp_path: Path) -> None:
    """`RETURNS legacy` and a variable of type `legacy` use the relation's row type: the function breaks
    when the view is dropped, so the name is never "a type, not a table". The object that exists after
    the scripts names the view (LR102): in its signature PostgreSQL refuses the drop, in its body the call
    fails."""
    schema = (
        "CREATE FUNCTION next_item() RETURNS order_line_items AS $$\n"
        "DECLARE found_item order_line_items;\n"
        "BEGIN\n"
        "  SELECT * INTO found_item FROM order_line_items_v2 LIMIT 1;\n"
        "  RETURN found_item;\n"
        "END;\n"
        "$$ LANGUAGE plpgsql;\n"
    )
    root = write_tree(
        tmp_path / "app",
        {
            "audit.toml": 'legacy = { "order_line_items" = "order_line_items_v2" }\n',
            "db/functions.sql": schema,
        },
    )
    data = scan_json(root)
    found = sorted(
        (f["line"], f["rule"], "refuses the DROP VIEW" in f["message"])
        for f in data["findings"]
        if f["path"] == "db/functions.sql"
    )
    assert found == [(1, "LR102", True), (2, "LR102", False)]
    assert not [m for m in data["non_references"] if m["path"] == "db/functions.sql"]


def test_an_unqualified_name_is_the_system_catalogs_first(tmp_path: Path) -> None:
    # PostgreSQL looks a name up in pg_catalog before the search path: unqualified `pg_namespace` is the
    # system catalog's, in a script, in a statement written as a string that pgTAP runs, and in Python
    root = write_tree(
        tmp_path / "p",
        {
            "report.sql": "SELECT oid FROM pg_namespace WHERE nspname = 'app';\n"
            "SELECT oid FROM public.pg_namespace;\n"
            "SELECT results_eq('SELECT count(*) FROM pg_namespace', ARRAY[1::bigint]);\n",
            "schemas.py": 'def schemas(cur):\n    cur.execute("SELECT nspname FROM pg_namespace")\n',
        },
    )
    data = scan_json(root, "--legacy", "pg_catalog.pg_namespace=pg_catalog.pg_namespace_v2")
    found = {(f["path"], f["line"], f["rule"]) for f in data["findings"]}
    assert found == {("report.sql", 1, "LR101"), ("report.sql", 3, "LR006"), ("schemas.py", 2, "LR001")}
    other = [m for m in data["non_references"] if (m["path"], m["line"]) == ("report.sql", 2)]
    assert other and "another relation" in other[0]["reason"]
