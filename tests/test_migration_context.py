"""Migration history never blocks a drop; the objects migrations leave defined do (LR102)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, run_cli, scan_json

CASES = FIXTURES / "cases"


def copy_case(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(CASES / name, root)
    return root


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def plan_of(root: Path) -> dict[str, dict[str, Any]]:
    code, out, err = run_cli("plan", str(root), "--format", "json", "--jobs", "1")
    assert code == 0, err
    return {obj["legacy"]: obj for obj in json.loads(out)["objects"]}


def summary(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": obj["status"],
        "blockers": [(b["path"], b["line"], b["rule"], b["block"]) for b in obj["blockers"]],
        "history": [(h["path"], h["line"], h["rule"]) for h in obj["history"]],
    }


def test_django_and_alembic_history_and_the_objects_they_leave(tmp_path: Path) -> None:
    root = copy_case("python_migrations", tmp_path)
    plan = plan_of(root)
    assert {name: summary(obj) for name, obj in plan.items()} == {
        "public.order_line_items": {
            "status": "blocked",
            "blockers": [
                ("alembic/versions/5555_item_count.py", 12, "LR102",
                 "alembic/versions/5555_item_count.py:function public.item_count"),
                ("shop/migrations/0002_item_totals_view.py", 12, "LR102",
                 "shop/migrations/0002_item_totals_view.py:view public.item_totals"),
            ],
            "history": [
                ("alembic/versions/1111_drop_recent_items.py", 14, "LR001"),
                ("alembic/versions/5555_item_count.py", 12, "LR001"),
                ("alembic/versions/5555_item_count.py", 19, "LR004"),
                ("alembic/versions/9999_recent_items.py", 10, "LR001"),
                ("shop/migrations/0002_item_totals_view.py", 12, "LR001"),
            ],
        },
        "public.products": {
            "status": "ready",
            "blockers": [],
            "history": [
                ("shop/migrations/0003_backfill_prices.py", 6, "LR001"),
                ("shop/migrations/0003_backfill_prices.py", 11, "LR001"),
            ],
        },
    }  # fmt: skip
    data = scan_json(root)
    contexts = {(f["path"], f["line"], f["rule"]): f.get("context") for f in data["findings"]}
    assert contexts[("shop/migrations/0002_item_totals_view.py", 12, "LR001")] == "migration"
    assert contexts[("shop/migrations/0002_item_totals_view.py", 12, "LR102")] is None
    assert data["summary"]["ready_to_drop"] == ["public.products"]


def test_a_migrations_py_named_in_the_config(tmp_path: Path) -> None:
    """`mNNN_*` functions are the steps; the rest of the module is code that runs every time."""
    root = copy_case("configured_migrations", tmp_path)
    plan = plan_of(root)
    assert list(plan) == ["public.order_line_items"]  # item_report is an ordinary view, not legacy
    assert summary(plan["public.order_line_items"]) == {
        "status": "blocked",
        "blockers": [
            ("db/migrations.py", 14, "LR102", "db/migrations.py:view public.item_report"),
            ("db/migrations.py", 20, "LR001", "db.migrations:pending"),
        ],
        "history": [("db/migrations.py", 5, "LR001"), ("db/migrations.py", 9, "LR001"),
                    ("db/migrations.py", 14, "LR001"), ("db/migrations.py", 15, "LR001")],
    }  # fmt: skip


def test_a_migrations_py_of_numbered_steps_is_history_without_configuration(tmp_path: Path) -> None:
    """A module named migrations.py that defines `mNNN_*` steps (LNbits' convention) is found on its own;
    a migrations.py without steps (the runner) is code that runs."""
    root = copy_case("numbered_step_migrations", tmp_path)
    plan = plan_of(root)
    assert summary(plan["public.ledger"]) == {
        "status": "blocked",
        "blockers": [
            ("shop/core/crud.py", 5, "LR001", "shop.core.crud:entries"),
            ("shop/core/crud.py", 13, "LR103", "shop.core.crud:large"),
            ("shop/core/migrations.py", 18, "LR102", "shop/core/migrations.py:view public.large_entries"),
            ("shop/core/migrations.py", 23, "LR001", "shop.core.migrations:pending_steps"),
        ],
        "history": [("shop/core/migrations.py", 5, "LR001"), ("shop/core/migrations.py", 9, "LR001"),
                    ("shop/core/migrations.py", 13, "LR001"), ("shop/core/migrations.py", 18, "LR001")],
    }  # fmt: skip
    (root / "shop" / "core" / "migrations.py").write_text(
        (root / "shop" / "core" / "migrations.py").read_text().replace("def m00", "def step_"),
        encoding="utf-8",
    )
    write(root, "audit.toml", 'legacy = { "ledger" = "ledger_entries" }\n')  # no history: no catalog from it
    history = summary(plan_of(root)["public.ledger"])["history"]
    assert history == []  # no numbered step: an ordinary module, its SQL is code that runs


@pytest.mark.parametrize("gated", [False, True], ids=["no-baseline", "baseline"])
def test_a_new_migration_that_uses_a_legacy_view_is_a_new_finding(tmp_path: Path, gated: bool) -> None:
    root = copy_case("python_migrations", tmp_path)
    baseline = root / ".audit-baseline.json"
    if gated:
        assert run_cli("baseline", str(root), "--jobs", "1")[0] == 0
    (root / "shop" / "migrations" / "0004_more.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        "    operations = [migrations.RunSQL(\"INSERT INTO products (name) VALUES ('x')\")]\n",
        encoding="utf-8",
    )
    extra = ("--baseline", str(baseline)) if gated else ()
    code, out, _ = run_cli("scan", str(root), "--format", "json", "--no-cache", "-j", "1", *extra)
    assert code == 1
    new = [(f["path"], f["rule"], f.get("context")) for f in json.loads(out)["findings"]]
    assert ("shop/migrations/0004_more.py", "LR001", "migration") in new
    if gated:
        assert len(new) == 1


def test_a_schema_step_whose_sql_is_built_at_run_time_is_reported(tmp_path: Path) -> None:
    root = copy_case("python_migrations", tmp_path)
    write(
        root,
        "shop/migrations/0004_from_file.py",
        "from pathlib import Path\n\nfrom django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        '    operations = [migrations.RunSQL(Path(__file__).with_name("views.sql").read_text())]\n',
    )
    data = scan_json(root)
    assert [(d["path"], d["line"], d["kind"]) for d in data["diagnostics"]] == [
        ("shop/migrations/0004_from_file.py", 7, "migration-sql")
    ]


def test_alembic_rename_table_is_evidence_for_a_filtered_compat_view(tmp_path: Path) -> None:
    root = tmp_path / "alembic_rename"
    upgrade = (
        "def upgrade():\n"
        '    op.rename_table("orders", "orders_v2")\n'
        '    op.execute("CREATE VIEW orders AS SELECT id, total FROM orders_v2 WHERE NOT deleted")\n'
    )
    write(
        root,
        "alembic/versions/0001_orders.py",
        f'from alembic import op\n\nrevision = "r1"\ndown_revision = None\n\n\n{upgrade}',
    )
    code, out, err = run_cli("catalog", str(root), "--format", "json")
    assert code == 0, err
    (entry,) = json.loads(out)
    assert (entry["legacy"], entry["target"]) == ("public.orders", "public.orders_v2")
    assert entry["evidence"] == [
        "was a table: table renamed to public.orders_v2 at alembic/versions/0001_orders.py:8"
    ]


def test_a_new_sql_migration_that_writes_to_a_legacy_view_is_a_new_finding(tmp_path: Path) -> None:
    root = copy_case("built_on_legacy", tmp_path)
    assert run_cli("baseline", str(root), "--jobs", "1")[0] == 0
    write(root, "supabase/migrations/0004_fix_refunds.sql", "update public.orders set refunded_cents = 0;\n")
    baseline = str(root / ".audit-baseline.json")
    code, out, _ = run_cli(
        "scan", str(root), "--format", "json", "--no-cache", "-j", "1", "--baseline", baseline
    )
    assert code == 1
    new = [(f["path"], f["line"], f["rule"], f.get("context")) for f in json.loads(out)["findings"]]
    assert new == [("supabase/migrations/0004_fix_refunds.sql", 1, "LR101", "migration")]
    plan = plan_of(root)["public.orders"]
    assert ("supabase/migrations/0004_fix_refunds.sql", 1, "LR101") in summary(plan)["history"]
    assert all(b["path"] != "supabase/migrations/0004_fix_refunds.sql" for b in plan["blockers"])


def test_peewee_migrate_files_are_history(tmp_path: Path) -> None:
    """peewee_migrate's `migrate(migrator, ...)` steps are history; the view their SQL leaves blocks."""
    obj = plan_of(copy_case("peewee_migrations", tmp_path))["public.order_notes"]
    assert summary(obj) == {
        "status": "blocked",
        "blockers": [
            ("app/api.py", 5, "LR001", "app.api:latest_notes"),
            (
                "migrations/001_initial.py",
                16,
                "LR102",
                "migrations/001_initial.py:view public.recent_order_notes",
            ),
        ],
        "history": [("migrations/001_initial.py", 14, "LR003"), ("migrations/001_initial.py", 16, "LR001")],
    }
