"""The catalog is built from evidence, and keeps a compatibility view through CREATE OR REPLACE."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import FIXTURES, run_cli

CASE = FIXTURES / "cases" / "computed_compat_view"


def test_compat_view_recreated_with_a_computed_column(tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(CASE, root)
    code, out, err = run_cli("catalog", str(root), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [
        {
            "legacy": "public.order_line_items",
            "target": "public.order_line_items_v2",
            "kind": "view",
            "source": "supabase/migrations/0003_line_total.sql:2",
            "columns": {},
            "evidence": [
                "was a table: table renamed to public.order_line_items_v2 at "
                "supabase/migrations/0002_rename.sql:1",
                "shows every column of public.order_line_items_v2 (*), unfiltered",
            ],
            "computed": {"line_total": "qty * unit_price"},
        }
    ]  # active_users (filtered, never a table, no INSTEAD OF trigger) is an ordinary view

    code, out, err = run_cli("plan", str(root), "--format", "json", "--jobs", "1")
    assert code == 0, err
    (obj,) = json.loads(out)["objects"]
    assert obj["status"] == "blocked"
    assert [(b["path"], b["line"], b["block"]) for b in obj["blockers"]] == [
        ("app/orders.py", 2, "app.orders:item_quantities"),
        ("app/orders.py", 8, "app.orders:order_total"),
    ]
    assert (obj["counts"]["mechanical"], obj["counts"]["manual"]) == (1, 1)  # order_total reads line_total

    code, out, _ = run_cli("scan", str(root), "--format", "json", "--no-cache", "-j", "1")
    descriptions = {f["line"]: f["suggestion"]["description"] for f in json.loads(out)["findings"]}
    assert descriptions[8].endswith(
        "Columns only the view computes must be computed in the query instead: line_total = qty * unit_price."
    )
    assert "computed" not in descriptions[2]


def test_not_legacy_in_the_config_removes_an_entry(tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(CASE, root)
    (root / "audit.toml").write_text('not_legacy = ["public.order_line_items"]\n', encoding="utf-8")
    code, _, err = run_cli("catalog", str(root))
    assert code == 2
    assert "the legacy catalog is empty" in err
