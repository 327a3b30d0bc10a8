"""SQLAlchemy models as SQLAlchemy resolves them: which class owns a legacy table, and the rule-pack keys
that say where a sink applies (issue 14, part 5). The labels are in fixtures/cases/sqlalchemy_model_tables."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import FIXTURES, run_cli, scan_json, write_tree

MODELS = FIXTURES / "cases" / "sqlalchemy_model_tables"


def test_the_mapped_class_owns_the_table_it_inherits_or_is_mapped_onto() -> None:
    data = scan_json(MODELS)
    blocks = {(f["path"], f["line"]): f["block"] for f in data["findings"]}
    # a mixin's __tablename__ is reported at its literal, in the block of the concrete class that maps it
    assert blocks[("app/mixins.py", 10)] == "app.models.entries:LedgerEntry"
    assert blocks[("app/mixins.py", 40)] == "app.models.trail:AuditTrail"  # a mixin built on a mixin
    assert blocks[("app/models/trail.py", 12)] == "app.models.trail:Gizmo"  # @as_declarative computed name
    # through an __abstract__ base in another module
    assert blocks[("app/mixins.py", 22)] == "app.models.entries:Event"
    # registry.map_imperatively(CustomerProfile, customer_profiles_table), the table imported from elsewhere
    assert blocks[("app/tables.py", 6)] == "app.models.imperative:CustomerProfile"
    assert blocks[("app/tables.py", 11)] == "app.models.imperative:EventRow"  # classic mapper(EventRow, ...)
    assert blocks[("app/models/ledger.py", 18)] == "app.models.ledger:AuditEntry"  # __table__ = Table(...)
    widget = next(f for f in data["findings"] if f["legacy"] == "public.widget")
    assert 'Set __tablename__ = "widgets"' in widget["message"]
    reasons = {(n["path"], n["line"]): n["reason"] for n in data["non_references"]}
    assert "no scanned class maps" in reasons[("app/mixins.py", 16)]


def test_configured_methods_apply_only_on_receivers_of_the_given_types(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "app",
        {
            "audit.toml": (
                'legacy = { "orders" = "orders_v2" }\n'
                'sinks = [{ methods = ["fetch_table", "count_table"], receiver_types = ["mylib.connect"],'
                ' arg = 0, kind = "table" }]\n'
            ),
            "jobs.py": (
                "import mylib\n"
                "\n"
                "def run(sheet):\n"
                "    client = mylib.connect()\n"
                '    client.fetch_table("orders")\n'
                '    mylib.connect().count_table("orders")\n'
                '    sheet.fetch_table("orders")\n'
            ),
        },
    )
    data = scan_json(root)
    found = sorted((f["line"], f["rule"]) for f in data["findings"])
    assert found == [(5, "LR004"), (6, "LR004"), (7, "LR006")]


def test_methods_must_be_a_list(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"audit.toml": 'legacy = { "orders" = "orders_v2" }\nsinks = [{ methods = "q", arg = 0 }]\n'},
    )
    code, _, err = run_cli("scan", str(tmp_path), "--no-cache")
    assert code == 2 and err.count("\n") == 1 and "exactly one of" in err
