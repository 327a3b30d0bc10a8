"""LR103: code that uses a view or function built on a legacy view, listed under that legacy object."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import FIXTURES, run_cli


def test_uses_of_dependent_views_and_functions_are_listed_under_the_legacy_object(tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(FIXTURES / "cases" / "built_on_legacy", root)
    code, out, err = run_cli("plan", str(root), "--format", "json", "--jobs", "1")
    assert code == 0, err
    (orders,) = json.loads(out)["objects"]
    assert orders["legacy"] == "public.orders" and orders["status"] == "blocked"
    mig = "supabase/migrations/0003_sales_reporting.sql"
    assert [(b["path"], b["line"], b["rule"], b["confidence"], b["via"]) for b in orders["blockers"]] == [
        ("app/reports.py", 5, "LR103", "high", ["public.orders", "sales.monthly_totals"]),
        ("app/reports.py", 10, "LR103", "medium", ["public.orders", "sales.refund_total"]),
        ("app/reports.py", 15, "LR103", "medium", ["public.orders", "sales.refund_total"]),
        ("app/reports.py", 19, "LR103", "high",
         ["public.orders", "sales.monthly_totals", "sales.quarterly_totals"]),
        (mig, 3, "LR102", "high", ["public.orders"]),
        (mig, 8, "LR102", "high", ["public.orders"]),
    ]  # fmt: skip
    assert orders["owners"] == ["@shop/analytics", "@shop/dba"]


def test_lr103_is_documented() -> None:
    code, out, _ = run_cli("rules", "LR103")
    assert code == 0
    assert "uses-object-built-on-legacy" in out and "Use instead" in out


def test_scan_writes_the_plan_documents_too(tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(FIXTURES / "cases" / "python_migrations", root)
    for fmt in ("markdown", "html"):
        code, from_scan, _ = run_cli("scan", str(root), "--format", fmt, "--no-cache", "-j", "1")
        assert code == 1  # findings: the scan's exit status
        code, from_plan, _ = run_cli("plan", str(root), "--format", fmt, "-j", "1")
        assert code == 0
        assert from_scan == from_plan
        assert "Migration history (replayed before the rename, never a blocker)" in from_scan
        assert "shop/migrations/0003_backfill_prices.py:6 LR001" in from_scan


def test_the_graph_goes_through_the_dependent_object(tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(FIXTURES / "cases" / "built_on_legacy", root)
    code, out, err = run_cli("graph", str(root), "--format", "json", "-j", "1")
    assert code == 0, err
    edges = {(e["source"], e["target"]): e["kind"] for e in json.loads(out)["edges"]}
    assert edges[("block:app.reports:monthly", "db:view sales.monthly_totals")] == "depends-on"
    assert edges[("block:app.reports:refunds_api", "db:function sales.refund_total")] == "depends-on"
    assert edges[("db:view sales.monthly_totals", "legacy:public.orders")] == "references"
