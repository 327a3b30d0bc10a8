"""The type of an object an attribute holds, read where a base class declares it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import scan_json, write_tree

_APP = {
    "audit.toml": 'legacy = { "orders" = "orders_v2" }\n',
    "app/__init__.py": "",
    "app/database.py": (
        "class DatabasePool:\n"
        "    def select_one_txn(self, txn, table, keyvalues):\n"
        '        txn.execute("SELECT * FROM %s WHERE id = %%s" % (table,), (keyvalues["id"],))\n'
        "        return txn.fetchone()\n"
    ),
    "app/base.py": (
        "from app.database import DatabasePool\n\n\n"
        "class SQLBaseStore:\n"
        "    def __init__(self, database: DatabasePool):\n"
        "        self.db_pool = database\n"
    ),
    # a middle class in a module that is parsed for its own sake (it names the table in a comment)
    "app/mid.py": (
        "from app.base import SQLBaseStore\n\n"
        "# the orders stores share this class\n"
        "class MidStore(SQLBaseStore):\n"
        "    pass\n"
    ),
    "app/store.py": (
        "from app.mid import MidStore\n\n\n"
        "class OrderStore(MidStore):\n"
        "    def get(self, txn, order_id):\n"
        '        return self.db_pool.select_one_txn(txn, table="orders", keyvalues={"id": order_id})\n'
    ),
}


@pytest.mark.parametrize("mode", ["everywhere", "legacy-files"])
def test_an_attribute_typed_two_bases_up_reaches_the_helper(tmp_path: Path, mode: str) -> None:
    """`self.db_pool` is typed by a base class two levels up, past a module parsed before the rounds look
    for it: the base's module and then the type's module are read, and the call reaches the helper."""
    root = write_tree(tmp_path / "app", _APP)
    data = scan_json(root, "--unresolved", mode)
    found = sorted((f["path"], f["line"], f["rule"]) for f in data["findings"])
    assert found == [("app/store.py", 6, "LR004")]
