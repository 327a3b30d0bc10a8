"""Table references in SQL text: positions, exact offsets, scoping, fallback."""

from __future__ import annotations

import pytest

from auditor.core.model import ObjectName
from auditor.sql.analyses import table_references
from auditor.sql.refs import analyze_sql, split_statements
from auditor.sql.rewrite import rewrite_reference


def refs(sql: str, qualifiers: bool = False) -> list[tuple[str, str | None, str, str, bool]]:
    """(written text, schema, name, position, parsed) for each reference, checking the name offsets;
    column qualifiers only when asked (test_qualifiers.py is about them)."""
    out = []
    for ref in table_references(sql).refs:
        if ref.position == "qualifier" and not qualifiers:
            continue
        assert ref.start <= ref.name_start < ref.end
        assert sql[ref.start : ref.end].endswith(sql[ref.name_start : ref.end])
        out.append((sql[ref.start : ref.end], ref.schema, ref.name, ref.position, ref.parsed))
    return out


def test_exact_offsets_for_qualified_and_quoted_names() -> None:
    sql = 'SELECT li.id FROM public.order_line_items li JOIN "Order_Items" o ON o.id = li.id'
    found = [r for r in table_references(sql).refs if r.position != "qualifier"]
    assert [(r.start, r.name_start, r.end) for r in found] == [(18, 25, 41), (50, 50, 63)]
    assert [(r.schema, r.name, r.position, r.parsed) for r in found] == [
        ("public", "order_line_items", "from", True),
        (None, "Order_Items", "join", True),
    ]
    assert table_references(sql).parsed is True


def test_quoted_schema_and_three_part_name() -> None:
    sql = 'SELECT * FROM "public"."order_line_items", analytics.other.Orders'
    assert refs(sql) == [
        ('"public"."order_line_items"', "public", "order_line_items", "from", True),
        ("analytics.other.Orders", "other", "orders", "join", True),
    ]


def test_offsets_in_multi_statement_multi_line_text() -> None:
    sql = "-- header\nselect 1;\n\nupdate\n  sales.order_line_items\nset qty = 2;\ndelete from items_v2"
    found = table_references(sql).refs
    assert [(sql[r.start : r.end], r.schema, r.position) for r in found] == [
        ("sales.order_line_items", "sales", "update"),
        ("items_v2", None, "delete"),
    ]
    assert found[0].start == sql.index("sales.order_line_items")


def test_cte_shadows_the_table_but_its_body_is_a_reference() -> None:
    shadow = "WITH order_line_items AS (SELECT * FROM order_line_items_v2) SELECT * FROM order_line_items"
    assert refs(shadow) == [("order_line_items_v2", None, "order_line_items_v2", "from", True)]
    inner = "WITH x AS (SELECT * FROM order_line_items) SELECT * FROM x JOIN public.x ON true"
    assert refs(inner) == [
        ("order_line_items", None, "order_line_items", "from", True),
        ("public.x", "public", "x", "join", True),
    ]


def test_non_recursive_cte_is_not_visible_in_its_own_body() -> None:
    sql = "WITH items AS (SELECT * FROM items WHERE qty > 0) SELECT * FROM items"
    assert refs(sql) == [("items", None, "items", "from", True)]
    assert table_references(sql).refs[0].start == 29


def test_aliases_columns_literals_comments_and_functions_are_not_references() -> None:
    sql = (
        "SELECT order_line_items.id, 'order_line_items' AS label /* order_line_items */ "
        "FROM order_line_items_v2 AS order_line_items, generate_series(1, 3) g -- order_line_items"
    )
    assert refs(sql) == [("order_line_items_v2", None, "order_line_items_v2", "from", True)]


def test_subqueries_lateral_and_dml_positions() -> None:
    sql = (
        "INSERT INTO a (x) SELECT b.x FROM b, LATERAL (SELECT * FROM c WHERE c.id = b.id) l "
        "WHERE EXISTS (SELECT 1 FROM d)"
    )
    assert [(w, p) for w, _, _, p, _ in refs(sql)] == [
        ("a", "insert"),
        ("b", "from"),
        ("c", "from"),
        ("d", "from"),
    ]
    delete = "DELETE FROM items USING orders o WHERE o.id = items.order_id"
    assert [(w, p) for w, _, _, p, _ in refs(delete)] == [("items", "delete"), ("orders", "using")]
    merge = "MERGE INTO items t USING staged s ON t.id = s.id WHEN MATCHED THEN UPDATE SET qty = s.qty"
    assert [(w, p) for w, _, _, p, _ in refs(merge)] == [("items", "merge"), ("staged", "using")]
    assert [(w, p) for w, _, _, p, _ in refs("TRUNCATE items, orders RESTART IDENTITY")] == [
        ("items", "truncate"),
        ("orders", "truncate"),
    ]
    assert [(w, p) for w, _, _, p, _ in refs("COPY items (a, b) FROM STDIN")] == [("items", "copy")]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM order_line_items WHERE id = %s",
        "SELECT * FROM order_line_items WHERE id = %(item_id)s",
        "SELECT * FROM order_line_items WHERE id = $1",
        "SELECT * FROM order_line_items WHERE id = :item_id",
        "SELECT * FROM order_line_items WHERE id = ?",
    ],
)
def test_placeholders_do_not_prevent_parsing(sql: str) -> None:
    assert refs(sql) == [("order_line_items", None, "order_line_items", "from", True)]


def test_audit_hole_placeholders_are_returned_like_names() -> None:
    assert refs("SELECT * FROM __audit_hole_0__ WHERE id = %s") == [
        ("__audit_hole_0__", None, "__audit_hole_0__", "from", True)
    ]
    found = table_references("SELECT * FROM public.__audit_hole_1__").refs
    assert [(r.start, r.name_start, r.end, r.schema) for r in found] == [(14, 21, 37, "public")]


def test_tokenizer_fallback_for_unparsable_sql() -> None:
    sql = "INSERT INTO order_line_items (a) SELECT a FROM {source} WHERE"
    result = table_references(sql)
    assert result.parsed is False
    assert result.error is not None
    assert refs(sql) == [("order_line_items", None, "order_line_items", "insert", False)]


def test_fallback_handles_an_unterminated_string() -> None:
    sql = "SELECT * FROM public.order_line_items WHERE note = '"
    assert refs(sql) == [("public.order_line_items", "public", "order_line_items", "from", False)]


def test_fallback_ignores_from_that_is_not_a_table_keyword() -> None:
    sql = "SELECT extract(year FROM ts), a IS DISTINCT FROM b FROM t JOIN {hole} h ON true"
    assert [(w, p, parsed) for w, _, _, p, parsed in refs(sql)] == [("t", "from", False)]


def test_ddl_positions() -> None:
    sql = """
CREATE OR REPLACE VIEW public.order_line_items (id, quantity) AS
  SELECT id, qty FROM public.order_line_items_v2;
CREATE TRIGGER trg INSTEAD OF INSERT ON public.order_line_items FOR EACH ROW EXECUTE FUNCTION public.f();
GRANT SELECT, INSERT ON public.order_line_items TO authenticated;
COMMENT ON COLUMN public.order_line_items.qty IS 'legacy column';
ALTER VIEW order_line_items RENAME TO order_line_items_old;
LOCK TABLE order_line_items IN ACCESS EXCLUSIVE MODE;
CREATE INDEX CONCURRENTLY ix ON ONLY public.items USING btree (order_id);
ALTER TABLE shipments ADD CONSTRAINT fk FOREIGN KEY (item_id) REFERENCES order_line_items (id);
DROP VIEW IF EXISTS public.order_line_items CASCADE;
"""
    assert [(w, p) for w, _, _, p, _ in refs(sql)] == [
        ("public.order_line_items", "create"),
        ("public.order_line_items_v2", "from"),
        ("public.order_line_items", "trigger-on"),
        ("public.order_line_items", "grant"),
        ("public.order_line_items", "comment"),
        ("order_line_items", "alter"),
        ("order_line_items_old", "create"),
        ("order_line_items", "lock"),
        ("public.items", "index-on"),
        ("shipments", "alter"),
        ("order_line_items", "references"),
        ("public.order_line_items", "drop"),
    ]


def test_policy_and_materialized_view_bodies_are_parsed() -> None:
    policy = (
        "CREATE POLICY p ON public.orders FOR SELECT "
        "USING (EXISTS (SELECT 1 FROM public.order_line_items li WHERE li.order_id = orders.id))"
    )
    assert refs(policy) == [
        ("public.orders", "public", "orders", "policy-on", False),
        ("public.order_line_items", "public", "order_line_items", "from", True),
    ]
    matview = "CREATE MATERIALIZED VIEW mv AS SELECT * FROM order_line_items WITH NO DATA"
    assert [(w, p, parsed) for w, _, _, p, parsed in refs(matview)] == [
        ("mv", "create", False),
        ("order_line_items", "from", True),
    ]


PLPGSQL = """CREATE OR REPLACE FUNCTION public.refresh_totals(p_order bigint) RETURNS numeric
LANGUAGE plpgsql AS $fn$
DECLARE
  v_total numeric;
BEGIN
  SELECT sum(qty) INTO v_total FROM public.order_line_items WHERE order_id = p_order;
  IF EXISTS (SELECT 1 FROM order_line_items WHERE order_id = p_order) THEN
    UPDATE order_line_items_v2 SET quantity = 0 WHERE order_id = p_order;
  END IF;
  FOR r IN SELECT * FROM audit_log LOOP
    PERFORM pg_notify('totals', r.id::text);
  END LOOP;
  RETURN v_total;
END;
$fn$;"""


def test_plpgsql_body_statements_with_absolute_offsets() -> None:
    found = table_references(PLPGSQL).refs
    written = [(PLPGSQL[r.start : r.end], r.position, r.parsed) for r in found if r.position != "qualifier"]
    assert written == [
        ("public.order_line_items", "from", True),
        ("order_line_items", "from", True),
        ("order_line_items_v2", "update", True),
        ("audit_log", "from", True),
    ]
    first = found[0]
    assert first.start == PLPGSQL.index("public.order_line_items")
    assert first.name_start == first.start + len("public.")
    # v_total (SELECT ... INTO a variable) is not a table
    assert all(r.name != "v_total" for r in found)


def test_plpgsql_assignments_case_and_return_query() -> None:
    sql = """DO $$
DECLARE
  n int := (SELECT count(*) FROM a);
BEGIN
  n := (SELECT count(*) FROM b);
  CASE n WHEN (SELECT max(id) FROM c) THEN DELETE FROM d WHERE id = n;
  END CASE;
  <<outer>> LOOP EXIT; END LOOP;
  EXECUTE format('SELECT * FROM %I', 'e');
END $$"""
    assert [(w, p) for w, _, _, p, _ in refs(sql)] == [
        ("a", "from"),
        ("b", "from"),
        ("c", "from"),
        ("d", "delete"),
        ("e", "from"),  # the SQL that EXECUTE format() builds (issue 15)
    ]
    function = """create function f() returns setof items language plpgsql as $$
begin
  return query select * from items where qty > 0;
end $$"""
    found = table_references(function).refs
    # the result type is the relation's row type; the query reads it
    assert [(r.start, r.end, r.position) for r in found] == [(34, 39, "signature"), (98, 103, "from")]
    assert function[98:103] == "items"


def test_sql_function_bodies_in_all_quoting_styles() -> None:
    dollar = "CREATE FUNCTION f() RETURNS bigint AS $$ SELECT count(*) FROM order_line_items $$ LANGUAGE sql"
    assert refs(dollar) == [("order_line_items", None, "order_line_items", "from", True)]
    quoted = "CREATE FUNCTION f() RETURNS bigint AS 'SELECT count(*) FROM items WHERE s = ''x''' LANGUAGE sql"
    assert refs(quoted) == [("items", None, "items", "from", True)]
    assert table_references(quoted).refs[0].start == quoted.index("items")
    atomic = "CREATE FUNCTION f() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM items; END"
    assert refs(atomic) == [("items", None, "items", "from", True)]


def test_do_block_is_plpgsql() -> None:
    sql = "DO $$ BEGIN UPDATE order_line_items SET qty = 1; END $$"
    assert refs(sql) == [("order_line_items", None, "order_line_items", "update", True)]


def test_split_statements_respects_bodies_quotes_and_comments() -> None:
    sql = (
        "select ';' as a; -- ; comment\n"
        "create function f() returns int as $x$ select 1; select 2 $x$ language sql;\n"
        '/* ; */ select "a;b" from t;\n'
        "create function g() returns int language sql\n"
        "  begin atomic select 1; select case when true then 2 end; end;\n"
        "select E'it\\'s;' "
    )
    statements = split_statements(sql)
    assert [s.text.split()[0:2] for s in statements] == [
        ["select", "';'"],
        ["create", "function"],
        ["select", '"a;b"'],
        ["create", "function"],
        ["select", "E'it\\'s;'"],
    ]
    assert statements[1].start == sql.index("create function f")
    assert statements[2].text == 'select "a;b" from t'


def test_analyze_sql_reports_ddl_effects() -> None:
    sql = """
CREATE OR REPLACE VIEW public.order_line_items (id, quantity) AS SELECT id, qty FROM order_line_items_v2;
CREATE TRIGGER trg INSTEAD OF INSERT ON public.order_line_items FOR EACH ROW EXECUTE FUNCTION compat.ins();
ALTER TABLE order_line_items_v2 RENAME TO order_line_items_v3;
DROP POLICY IF EXISTS "read own" ON public.orders;
"""
    view, trigger, alter, drop = analyze_sql(sql)
    assert (view.kind, view.name, view.replace, view.columns) == (
        "create view",
        ("public", "order_line_items"),
        True,
        ("id", "quantity"),
    )
    assert view.query is not None
    assert (trigger.kind, trigger.timing, trigger.on, trigger.executes) == (
        "create trigger",
        "instead of",
        ("public", "order_line_items"),
        ("compat", "ins"),
    )
    assert (alter.kind, alter.name, alter.rename_to) == (
        "alter table",
        (None, "order_line_items_v2"),
        "order_line_items_v3",
    )
    assert (drop.kind, drop.names, drop.on) == ("drop policy", ((None, "read own"),), ("public", "orders"))


@pytest.mark.parametrize(
    ("written", "schema_written", "target", "expected"),
    [
        (
            "public.order_line_items",
            True,
            ObjectName("public", "order_line_items_v2"),
            "public.order_line_items_v2",
        ),
        ('"order_line_items"', False, ObjectName("public", "order_line_items_v2"), '"order_line_items_v2"'),
        ('"public"."order_line_items"', True, ObjectName("public", "items_v2"), '"public"."items_v2"'),
        ("order_line_items", False, ObjectName("sales", "order_line_items_v2"), "sales.order_line_items_v2"),
        ("public.order_line_items", True, ObjectName("sales", "items"), "sales.items"),
        ("order_line_items", False, ObjectName("public", "Items"), '"Items"'),
    ],
)
def test_rewrite_reference_keeps_the_written_style(
    written: str, schema_written: bool, target: ObjectName, expected: str
) -> None:
    assert rewrite_reference(written, schema_written, target, "public") == expected


# --- catalog lookups by name ------------------------------------------------------------------------------

_UNREADABLE = " AND now() AT LOCAL > now()"  # PostgreSQL 17 syntax the parser does not read
_ORDERS = [("orders", None, "orders")]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1 FROM information_schema.tables WHERE table_name = 'orders'", _ORDERS),
        ("SELECT 1 FROM INFORMATION_SCHEMA.COLUMNS WHERE 'orders' = TABLE_NAME", _ORDERS),
        ("SELECT 1 FROM pg_class c WHERE c.relname IN ('orders', 'Items')",
         [("orders", None, "orders"), ("Items", None, "Items")]),
        ("SELECT 1 FROM pg_tables WHERE tablename = ANY(ARRAY['orders'])", _ORDERS),
        ("SELECT 1 FROM pg_views WHERE viewname <> 'orders'", _ORDERS),
        ("SELECT 1 FROM pg_class WHERE relname::text = 'orders'", _ORDERS),
        ("SELECT 1 WHERE to_regclass('public.orders') IS NULL", [("public.orders", "public", "orders")]),
        ("SELECT 1 WHERE 'Public.\"Orders\"'::regclass IS NULL", [('Public."Orders"', "public", "Orders")]),
        ("SELECT 1 WHERE CAST('orders' AS regclass) IS NULL", _ORDERS),
        ("SELECT 1 WHERE pg_total_relation_size('orders') > 0", _ORDERS),
        ("SELECT 1 WHERE has_table_privilege('orders', 'SELECT')", _ORDERS),
        ("SELECT 1 WHERE has_table_privilege('bob', 'orders', 'SELECT')", _ORDERS),
        ("SELECT 1 WHERE has_column_privilege('bob', 'orders', 'id', 'SELECT')", _ORDERS),
    ],
)  # fmt: skip
def test_catalog_lookup_by_name_in_tree_and_fallback(
    sql: str, expected: list[tuple[str, str | None, str]]
) -> None:
    for text, parsed in ((sql, True), (sql + _UNREADABLE, False)):
        assert table_references(text).parsed is parsed
        found = [r for r in refs(text) if r[3] == "lookup"]
        assert found == [(w, s, n, "lookup", parsed) for w, s, n in expected], text


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM events WHERE status = 'orders'",
        "SELECT 1 FROM events WHERE kind IN ('orders', 'items')",
        "SELECT 1 FROM pg_class WHERE relname = 'public.orders'",  # a name column holds no schema
        "SELECT 1 FROM pg_class WHERE relname = 'orders' || 'x' OR 'orders' = relname || 'x'",
        "SELECT 1 WHERE has_table_privilege('bob', 'public.x', 'SELECT') AND 'orders' = 'orders'",
        "SELECT 1 WHERE 'orders'::text = 'x' AND 'orders'::regtype IS NULL",
        "SELECT 1 FROM pg_class WHERE relname = E'orders'",
        "SELECT relname('orders')",
    ],
)
def test_values_outside_catalog_lookups_are_not_references(sql: str) -> None:
    for text in (sql, sql + _UNREADABLE):
        found = [r for r in refs(text) if r[3] == "lookup"]
        assert found == [] or found == [("public.x", "public", "x", "lookup", found[0][4])], text


# --- column qualifiers in SQL the parser cannot read -------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ('SELECT orders.id, orders.*, "orders"."total" FROM orders', ["orders", "orders", '"orders"']),
        ("SELECT orders.id FROM public.orders", [("orders", "public")]),
        ("UPDATE orders SET total = orders.total + 1", ["orders"]),
        ("SELECT 1 FROM (SELECT 1) e LEFT JOIN orders ON (orders.id = e.id)", ["orders"]),
        ("SELECT orders.id FROM orders o", []),  # aliased: the name is hidden
        ("SELECT orders.id FROM (SELECT 1) AS orders", []),  # a subquery alias
        ("SELECT orders.id FROM payments orders, orders", []),  # an alias named orders somewhere
        ("WITH orders AS (SELECT 1 AS id) SELECT orders.id FROM orders", []),  # a CTE
        ("SELECT orders.fn(1), s.orders.id FROM orders", []),  # a schema's function, a three-part name
        ("SELECT orders.id FROM items", []),  # not read by the statement
    ],
)
def test_fallback_qualifiers_bind_to_unaliased_relations(sql: str, expected: list[object]) -> None:
    text = sql + _UNREADABLE.replace("AND", "WHERE", 1) if "WHERE" not in sql else sql + _UNREADABLE
    assert table_references(text).parsed is False
    found = []
    for ref in table_references(text).refs:
        if ref.position == "qualifier":
            assert ref.parsed is False
            written = text[ref.start : ref.end]
            found.append(written if ref.implied_schema is None else (written, ref.implied_schema))
    assert found == expected, text


def test_catalog_lookup_inside_executed_plpgsql_strings() -> None:
    sql = (
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF to_regclass('public.orders') IS NULL THEN RETURN; END IF;\n"
        "  EXECUTE 'SELECT pg_relation_size(''orders'')';\n"
        "  EXECUTE 'SELECT 1 FROM pg_class WHERE relname = ''orders''';\n"
        "END $$"
    )
    found = [r for r in refs(sql) if r[3] == "lookup"]
    assert found == [
        ("public.orders", "public", "orders", "lookup", True),
        ("orders", None, "orders", "lookup", True),
        ("orders", None, "orders", "lookup", True),
    ]


@pytest.mark.parametrize(
    ("sql", "schema"),
    [
        ("SELECT 1 FROM information_schema.tables WHERE table_schema = 'billing' AND table_name = 'orders'",
         "billing"),
        ("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
         "WHERE c.relname = 'orders' AND n.nspname = 'Billing'", "Billing"),
        ("SELECT 1 FROM pg_tables WHERE schemaname IN ('a', 'b') AND tablename = 'orders'", None),
        ("SELECT 1 FROM pg_tables WHERE tablename = 'orders'", None),
    ],
)  # fmt: skip
def test_a_compared_name_is_in_the_schema_the_statement_compares(sql: str, schema: str | None) -> None:
    for text in (sql, sql + _UNREADABLE):
        found = [r for r in table_references(text).refs if r.position == "lookup"]
        assert [(r.schema, r.name, r.implied_schema) for r in found] == [(None, "orders", schema)], text
