"""Catalog lookups by name (`table_name = 'legacy'`, `'legacy'::regclass`, `to_regclass('legacy')`): what
they find on PostgreSQL, before the rewrite (the view) and after it (the new table)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.conftest import FIXTURES, scan_json, write_tree
from tests.test_qualifiers import apply_suggestions

LOOKUPS = FIXTURES / "cases" / "catalog_lookups"
needs_pg = pytest.mark.skipif(pg.missing_reason() is not None, reason=str(pg.missing_reason()))


def executed_in(source: str, functions: tuple[str, ...]) -> list[str]:
    """The literal SQL (one string, or implicitly concatenated ones) given to execute() in ``functions``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "execute":
                    first = call.args[0]
                    assert isinstance(first, ast.Constant)
                    out.append(str(first.value))
    return out


_SCHEMA = """
CREATE TABLE orders_v2 (id int PRIMARY KEY, code text);
COMMENT ON TABLE orders_v2 IS 'the orders';
DO $$ BEGIN CREATE ROLE reporter; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
"""


@needs_pg
def test_rewritten_lookups_find_the_new_table(cluster: pg.Cluster) -> None:
    findings: list[dict[str, Any]] = [
        f for f in scan_json(LOOKUPS)["findings"] if f["path"] == "checks.py" and f["rule"] == "LR001"
    ]
    source = (LOOKUPS / "checks.py").read_text()
    functions = ("table_exists", "code_type", "sizes")
    before, after = (
        executed_in(source, functions),
        executed_in(apply_suggestions(source, findings), functions),
    )
    assert len(before) == len(after) == 6
    cluster.createdb("lookups")
    cluster.psql(sql=_SCHEMA, db="lookups")
    for old, new in zip(before, after, strict=True):
        assert "'orders'" not in new and "public.orders'" not in new
        # no relation is named orders any more: the old lookup finds nothing (or fails), the new one the table
        gone = cluster.psql(sql=old, db="lookups", check=False)
        assert gone.returncode != 0 or gone.stdout.strip() in ("", "0"), old
        rows = cluster.value(new, db="lookups")
        assert rows and not any(cell == "" for cell in rows.split("|")), new


def test_lookup_rewrites_keep_the_value_a_bare_name_in_its_schema(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "app",
        {
            "audit.toml": 'legacy = { "billing.invoices_old" = "billing.invoices", '
            '"orders" = "archive.orders_v2" }\n',
            "checks.py": (
                "def check(cur):\n"
                "    cur.execute(\"SELECT 1 FROM information_schema.views WHERE table_schema = 'billing' \"\n"
                "                \"AND table_name = 'invoices_old'\")\n"
                "    cur.execute(\"SELECT 'billing.invoices_old'::regclass\")\n"
                "    cur.execute(\"SELECT to_regclass('orders'), 'public.orders'::regclass\")\n"
            ),
        },
    )
    found = {
        (f["line"], f["column"], str(f["legacy"])): f["suggestion"] and f["suggestion"]["replacement"]
        for f in scan_json(root)["findings"]
    }
    assert found == {
        # the schema filter stays: the value becomes the bare new name
        (3, 36, "billing.invoices_old"): "invoices",
        (4, 34, "billing.invoices_old"): "billing.invoices",
        # the target moved to another schema: the schema filter or search path changes too (no edit)
        (5, 38, "public.orders"): None,
        (5, 56, "public.orders"): "archive.orders_v2",
    }
