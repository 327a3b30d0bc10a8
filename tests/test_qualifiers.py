"""Column qualifiers that name a legacy table: scopes decide, and the suggested rewrites still run."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from auditor.sql.analyses import table_references
from tests import pg
from tests.conftest import FIXTURES, scan_json

QUALIFIERS = FIXTURES / "cases" / "table_qualifiers"


def qualifiers(sql: str) -> list[tuple[str, str | None]]:
    """(written qualifier, schema implied by its FROM item) for each qualifier bound to a table."""
    return [
        (sql[r.start : r.end], r.implied_schema)
        for r in table_references(sql).refs
        if r.position == "qualifier" and r.name == "legacy"
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT legacy.id FROM legacy ORDER BY legacy.rank", ["legacy", "legacy"]),
        ('SELECT "legacy"."owner_id" FROM billing.legacy', [('"legacy"', "billing")]),
        ("SELECT legacy.* FROM legacy", ["legacy"]),
        ("UPDATE legacy SET flags = legacy.flags | $2", ["legacy"]),
        ("INSERT INTO legacy (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET n = legacy.n + 1", ["legacy"]),
        ("DELETE FROM legacy WHERE legacy.id = 1 RETURNING legacy.id", ["legacy", "legacy"]),
        ("SELECT 1 FROM other o WHERE o.id IN (SELECT x FROM b WHERE b.y = legacy.y)", ["legacy"]),
        # PostgreSQL rejects legacy.x once the FROM item is aliased: the text still names the table
        ("SELECT l.x, legacy.y FROM legacy AS l", ["legacy"]),
        ("SELECT public.legacy.id FROM public.legacy", ["public.legacy"]),
        # shadowed: an alias, a CTE, a subquery, a DML alias
        ("SELECT legacy.id FROM items AS legacy", []),
        ("WITH legacy AS (SELECT 1 AS id) SELECT legacy.id FROM legacy", []),
        ("SELECT legacy.n FROM (SELECT 1 AS n) AS legacy", []),
        ("UPDATE items AS legacy SET n = legacy.n + 1", []),
        ("SELECT legacy.id FROM legacy_v2 AS legacy JOIN x ON x.id = legacy.id", []),
        # a CTE used from another CTE's body, also when sqlglot cannot scope the statement (a hole)
        (
            "WITH legacy AS (VALUES (1)), p AS (SELECT 1 FROM x JOIN legacy ON x.a = legacy.column1) TABLE p",
            [],
        ),
        (
            "WITH legacy AS (VALUES __audit_hole_0__), "
            "p AS (SELECT 1 FROM x JOIN legacy ON x.a = legacy.column1) SELECT * FROM p",
            [],
        ),
    ],
)
def test_qualifier_binding(sql: str, expected: list[Any]) -> None:
    found = qualifiers(sql)
    assert [(w if s is None else (w, s)) for w, s in found] == expected


# --- the suggested rewrites, applied, still run on PostgreSQL ---------------------------------------

pytestmark_pg = pytest.mark.skipif(pg.missing_reason() is not None, reason=str(pg.missing_reason()))


def apply_suggestions(text: str, findings: list[dict[str, Any]]) -> str:
    """Apply every finding's suggested edit (one-line spans, right to left so offsets stay valid)."""
    lines = text.split("\n")
    edits = sorted(
        (f["suggestion"] for f in findings if f["suggestion"]),
        key=lambda s: (s["line"], s["column"]),
        reverse=True,
    )
    for edit in edits:
        assert edit["line"] == edit["end_line"]
        row = lines[edit["line"] - 1]
        lines[edit["line"] - 1] = (
            row[: edit["column"] - 1] + edit["replacement"] + row[edit["end_column"] - 1 :]
        )
    return "\n".join(lines)


def executed_sql(source: str) -> list[str]:
    """The literal SQL passed to each execute() call (f-strings are left out: they need run-time values)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "execute" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                out.append(first.value)
    return out


def prepared(sql: str, index: int) -> str:
    """A PREPARE statement: PostgreSQL resolves every table and qualifier without running the query."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    text = re.sub(r"%s", number, sql)
    return f"PREPARE q{index} AS {text};"


_SCHEMA = """
CREATE TABLE invoices_v2 (id int PRIMARY KEY, owner_id int, total int, flags int, issued_on date,
                          due_on timestamptz, lines jsonb);
CREATE TABLE invoice_lines (invoice_id int, qty int);
CREATE SCHEMA archive;
CREATE TABLE archive.items (id int);
CREATE TABLE payments (id int, meta jsonb);
CREATE TABLE customers (invoices jsonb);
"""


@pytestmark_pg
def test_applied_rewrites_run_on_postgresql(cluster: pg.Cluster, tmp_path: Path) -> None:
    data = scan_json(QUALIFIERS)
    by_path: dict[str, list[dict[str, Any]]] = {}
    for finding in data["findings"]:
        by_path.setdefault(finding["path"], []).append(finding)
    python = apply_suggestions((QUALIFIERS / "billing.py").read_text(), by_path["billing.py"])
    report = apply_suggestions(
        (QUALIFIERS / "reports/monthly.sql").read_text(), by_path["reports/monthly.sql"]
    )
    statements = [prepared(sql, i) for i, sql in enumerate(executed_sql(python))]
    assert len(statements) == 11
    cluster.createdb("qualifiers")
    # no table named invoices exists: every rewritten name and qualifier must bind to invoices_v2
    script = tmp_path / "check.sql"
    script.write_text(_SCHEMA + "\n".join(statements) + "\n" + report, encoding="utf-8")
    cluster.psql(file=script, db="qualifiers")


def assigned_string(source: str, function: str, name: str) -> str:
    """The string literal assigned to ``name`` in ``function`` of a module's source."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and getattr(stmt.targets[0], "id", "") == name:
                    assert isinstance(stmt.value, ast.Constant)
                    return str(stmt.value.value)
    raise AssertionError(f"no {name} = '...' in {function}()")


@pytestmark_pg
def test_rewrites_of_unparsed_qualifiers_run_on_postgresql(cluster: pg.Cluster, tmp_path: Path) -> None:
    # the parser cannot read the template ({active} UNION {archived}); the tokenizer fallback found its names
    source = (QUALIFIERS / "billing.py").read_text()
    findings = [f for f in scan_json(QUALIFIERS)["findings"] if f["path"] == "billing.py"]
    template = assigned_string(apply_suggestions(source, findings), "entity_totals", "sql")
    assert "invoices." not in template and '"invoices".' not in template
    sql = template.format(active="SELECT 1 AS invoice_id", archived="SELECT 2")
    cluster.createdb("unparsed_qualifiers")
    script = tmp_path / "check.sql"
    script.write_text(_SCHEMA + prepared(sql, 0), encoding="utf-8")
    cluster.psql(file=script, db="unparsed_qualifiers")
