"""The rule registry: stable codes, names and the documentation `audit rules CODE` prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    summary: str
    what: str
    why: str
    example: str
    use_instead: str


_BLOCKS = (
    "Phase 3 drops the compatibility view. Any code that still names it fails at run time after the drop "
    '(`relation "public.order_line_items" does not exist`), so every such reference blocks the drop.'
)

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            code="LR001",
            name="legacy-name-in-static-sql",
            summary="Legacy name in static SQL text",
            what="Finds a legacy (compatibility-view) name in a table position, as a column qualifier, or "
            "looked up by name in the catalog (`table_name = 'legacy'`, `'legacy'::regclass`, "
            "`to_regclass('legacy')`) in SQL text that is fully known statically: a literal, an implicit "
            "concatenation, or a constant, passed to a database call or kept as a SQL statement.",
            why=_BLOCKS,
            example='cursor.execute(\n    "SELECT id, quantity FROM public.order_line_items WHERE order_id = %s", (oid,)\n)',
            use_instead='cursor.execute(\n    "SELECT id, quantity FROM public.order_line_items_v2 WHERE order_id = %s", (oid,)\n)',
        ),
        Rule(
            code="LR002",
            name="legacy-name-in-dynamic-sql",
            summary="Legacy name in dynamically built SQL",
            what="Finds a legacy name in SQL text that is assembled at run time (f-strings, `+`, `%`, "
            "`.format()`, `''.join()`), including a table-name constant interpolated into the text.",
            why=_BLOCKS + " The name may live in a constant far from the query; the finding is reported "
            "where the name is written and at each place that interpolates it.",
            example='ORDERS = "order_line_items"\nrows = conn.execute(f"SELECT * FROM {ORDERS} WHERE id = %s", (i,))',
            use_instead='ORDERS = "order_line_items_v2"\n'
            'rows = conn.execute(f"SELECT * FROM {ORDERS} WHERE id = %s", (i,))',
        ),
        Rule(
            code="LR003",
            name="legacy-name-in-orm-mapping",
            summary="ORM model mapped onto a legacy name",
            what="Finds ORM mappings onto a legacy name: SQLAlchemy `__tablename__` and `Table()`, Django "
            "`Meta.db_table`, Django's default `<app_label>_<model>` table name, `ManyToManyField(db_table=)`, "
            "Peewee `Meta.table_name`.",
            why=_BLOCKS + " Every query the ORM generates for the model uses the mapped name.",
            example='class LineItem(Base):\n    __tablename__ = "order_line_items"',
            use_instead='class LineItem(Base):\n    __tablename__ = "order_line_items_v2"',
        ),
        Rule(
            code="LR004",
            name="legacy-name-passed-to-client",
            summary="Legacy name passed to a query builder or client",
            what="Finds a legacy name passed where a library expects a table name: Supabase/PostgREST "
            "`.table()`/`.from_()` and embedded resources in `.select()`, SQLAlchemy `table()`/`ForeignKey()`/"
            "`relationship(secondary=)`, psycopg `sql.Identifier()`, asyncpg `copy_*_table()`, pandas "
            "`to_sql()`/`read_sql_table()`, Alembic `op.*` table arguments; and, read as written in "
            'JavaScript-family code (medium confidence), the table of a supabase-js `.from("name")`, of '
            "Kysely's `.selectFrom()`/`.insertInto()`/`.updateTable()`/`.deleteFrom()`, of Drizzle's "
            "`pgTable()` and of TypeORM's `@Entity()`.",
            why=_BLOCKS,
            example='supabase.table("order_line_items").select("id, quantity").execute()',
            use_instead='supabase.table("order_line_items_v2").select("id, quantity").execute()',
        ),
        Rule(
            code="LR005",
            name="unresolved-dynamic-table-name",
            summary="Table name that cannot be resolved statically",
            what="Reports a table position whose name is computed at run time from a value the analyzer "
            "cannot resolve (a function parameter, a call result, user input); in a web client, a "
            "supabase-js `.from()` or Kysely call whose table is not a string.",
            why="The analyzer cannot prove that the value is not a legacy name. It says so instead of "
            "staying silent; a person must check the values that reach this place before Phase 3.",
            example='def count_rows(table: str) -> int:\n    return cur.execute(f"SELECT count(*) FROM {table}")',
            use_instead="Pass the table name from a constant or an allow-list the analyzer can read, or "
            "suppress the finding with a reason once the callers are checked:\n"
            'cur.execute(f"SELECT count(*) FROM {table}")  # audit: ignore[LR005] only called with v2 tables',
        ),
        Rule(
            code="LR006",
            name="unclassified-mention",
            summary="Occurrence of a legacy name that no rule could classify",
            what="Reports a whole-word, case-insensitive occurrence of a legacy name (what `grep -rniw` "
            "finds) that is neither a finding of another rule nor recognisably something else: a comment, "
            "a Python identifier, a docstring, prose, a log or exception message, a URL, a dict key, a "
            "column or alias inside SQL, migration history. Typical cases: a string that holds the bare "
            "table name and reaches no known sink, or SQL-shaped text the analyzer did not connect to a "
            "query. In code the scan does not analyse (JavaScript, TypeScript, Vue, notebooks, shell, Go, "
            "Ruby, SQL templates, YAML such as Hasura metadata, files of unknown kinds such as a CSV, ...) "
            "every occurrence is LR006 unless where it stands shows otherwise (a comment, a JavaScript "
            "identifier, a Markdown cell; see the README). "
            "Low confidence.",
            why="The analyzer must never say a view is ready to drop while the code still names it. An "
            "occurrence it cannot explain may be a reference it cannot follow, so it blocks the drop until "
            "a person has looked. `audit explain PATH:LINE` shows how each occurrence on a line was read.",
            example='TABLES = {"orders": "order_line_items"}\nrows = run_report(TABLES["orders"])',
            use_instead='TABLES = {"orders": "order_line_items_v2"}\nrows = run_report(TABLES["orders"])\n'
            "# or, once checked: a suppression with the reason, or the helper declared as a sink in the "
            "config so the analyzer follows the value",
        ),
        Rule(
            code="LR101",
            name="legacy-name-in-sql-file",
            summary="Legacy name in a .sql file query",
            what="Finds a legacy name in a table position of a statement in a `.sql` file outside the "
            "migrations (reports, scheduled jobs, seeds), or looked up there by name in the catalog.",
            why=_BLOCKS,
            example="SELECT order_id, sum(quantity) FROM public.order_line_items GROUP BY order_id;",
            use_instead="SELECT order_id, sum(quantity) FROM public.order_line_items_v2 GROUP BY order_id;",
        ),
        Rule(
            code="LR102",
            name="object-depends-on-legacy",
            summary="Database object that depends on a legacy name",
            what="Finds database objects (views, functions, triggers, policies, foreign keys) that exist "
            "after all migrations are applied and whose definition names a legacy view. The compatibility "
            "view itself and its own INSTEAD OF triggers and trigger functions are not reported.",
            why="PostgreSQL refuses `DROP VIEW` while views, policies or constraints depend on it; a "
            "function body is bound by name, so PostgreSQL lets the drop through and the function fails "
            "when it next runs. A new migration must redefine the object on the target first.",
            example="CREATE VIEW public.order_summary AS\n  SELECT order_id, count(*) FROM public.order_line_items GROUP BY order_id;",
            use_instead="CREATE OR REPLACE VIEW public.order_summary AS\n"
            "  SELECT order_id, count(*) FROM public.order_line_items_v2 GROUP BY order_id;",
        ),
        Rule(
            code="LR103",
            name="uses-object-built-on-legacy",
            summary="Code that uses a view or function built on a legacy view",
            what="Finds code that uses a database object which depends on a legacy view (an LR102 object), "
            "directly or through other such objects: a query on a dependent view (`SELECT * FROM "
            'sales.monthly_totals`, `.table("monthly_totals")`), a call of a dependent function in SQL '
            '(`SELECT sales.refund_total(%s)`) or through PostgREST (`supabase.rpc("refund_total")`). '
            "The finding is listed under the legacy object, with the chain of objects in `via`.",
            why="The dependent object must be redefined on the target before Phase 3 (LR102). Its users do "
            "not name the legacy view, but they read through it: a redefinition that changes columns or "
            "results breaks them, so each use is checked when the object is redefined, and its owners are "
            "among the people the drop needs.",
            example="-- supabase/migrations: CREATE VIEW sales.monthly_totals AS SELECT ... FROM public.orders\n"
            'cur.execute("SELECT month, total FROM sales.monthly_totals")',
            use_instead="-- a new migration: CREATE OR REPLACE VIEW sales.monthly_totals AS SELECT ... FROM "
            "public.orders_v2\n"
            'cur.execute("SELECT month, total FROM sales.monthly_totals")  # checked against the new view',
        ),
        Rule(
            code="LR104",
            name="live-object-depends-on-legacy",
            summary="Object in the live database that depends on a legacy view",
            what="Lists, from the live database, every object that would stop or survive the `DROP VIEW` of "
            "a legacy view: views, materialized views and rules built on it (`pg_depend` / `pg_rewrite`, "
            "transitively through the views built on those), policies whose expressions read it, triggers on "
            "it other than its INSTEAD OF ones, and functions and procedures whose body names it (parsed from "
            "`pg_get_functiondef`, since `pg_depend` does not track PL/pgSQL bodies). Found in any schema, "
            "including objects no migration created; located at the .sql file that defines it when the scan "
            "saw one, else at `db:schema.object`.",
            why="PostgreSQL refuses `DROP VIEW` while views, rules or policies depend on it, and a function "
            "whose body names the view fails when it next runs. Objects made by hand are invisible to a code "
            "scan: only the database can say they exist.",
            example="-- made by hand in the SQL editor\n"
            "CREATE VIEW public.order_export AS\n"
            "  SELECT o.id, li.quantity FROM public.orders o JOIN public.order_line_items li ON li.order_id = o.id;",
            use_instead="-- a migration that redefines it on the target\n"
            "CREATE OR REPLACE VIEW public.order_export AS\n"
            "  SELECT o.id, li.quantity FROM public.orders o JOIN public.order_line_items_v2 li ON li.order_id = o.id;",
        ),
        Rule(
            code="LR105",
            name="legacy-view-queried",
            summary="Statement that read a legacy view during the observation window",
            what="Reads `pg_stat_statements` and reports each normalized statement whose parsed tables include "
            "a legacy view and that ran in the observation window, with the role that ran it, its calls, rows "
            "and total time. The window starts at the counters' last reset, or at an `audit db snapshot` "
            "given with `--since` / `--usage-since`. `authenticated` and `anon` are PostgREST clients (a "
            "frontend, a partner) outside this repository.",
            why="A code scan sees one repository; the database sees every client. A view that some role still "
            "queries breaks that client when it is dropped, wherever its code lives.",
            example="-- pg_stat_statements, role authenticated, 1,204 calls since the snapshot\n"
            "SELECT id, sku, title FROM public.products WHERE id = $1",
            use_instead="-- the client (here a frontend's `supabase.from('products')`) moves to the target\n"
            "SELECT id, sku, title FROM public.catalog_items WHERE id = $1",
        ),
        Rule(
            code="LR106",
            name="catalog-drift",
            summary="The live database's compatibility views differ from the migrations'",
            what="Compares the compatibility views the migrations leave defined with those the live database "
            "has (`--database-url`): a view only the database has (made by hand, or by a migration that is not "
            "in the repository), a view the migrations define that the database lacks, and a view whose "
            "target, renamed columns or computed columns differ. A view named in `legacy` or `--legacy` is "
            "not drift.",
            why="Phase 3 is planned from the repository but runs on the database. When they disagree, the "
            "plan and the emitted drop migration are about a schema that does not exist: a view only the "
            "database has is never dropped (or is queried by code nobody checked), a view the database lacks "
            "makes the migration fail, a different definition makes the suggested rewrites wrong.",
            example="-- in the database, made by hand; no migration defines it\n"
            "CREATE VIEW public.products_v0 AS SELECT id, title AS name FROM public.catalog_items;",
            use_instead="-- supabase/migrations/20240401000000_record_products_v0.sql: the repository says what "
            "the database has\n"
            "CREATE OR REPLACE VIEW public.products_v0 AS SELECT id, title AS name FROM public.catalog_items;",
        ),
        Rule(
            code="LR900",
            name="invalid-suppression",
            summary="Suppression comment without a code or reason, or that silences nothing",
            what="Reports an `audit: ignore` comment that names no rule code, gives no reason, or does not "
            "match any finding on its line.",
            why="A suppression is a reviewed decision; without a code and a reason it hides future "
            "references too, and a stale one hides nothing but misleads readers.",
            example="rows = cur.execute(sql)  # audit: ignore",
            use_instead="rows = cur.execute(sql)  # audit: ignore[LR005] sql only ever names v2 tables",
        ),
    )
}


def rule_name(code: str) -> str:
    return RULES[code].name
