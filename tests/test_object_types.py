"""Helpers reached through objects and runners: the type of an attribute, read where a base class declares
it; a function handed to a runner with the arguments it is to be called with."""

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


_RUNNER = {
    "audit.toml": 'legacy = { "orders" = "orders_v2" }\n',
    "app/__init__.py": "",
    "app/db.py": (
        "def run(desc, func, *args):\n"
        "    return func(connect(), *args)\n\n\n"
        "def connect():\n"
        "    return None\n\n\n"
        "def _count_txn(conn, table):\n"
        '    return conn.execute(f"SELECT count(*) FROM {table}")\n\n\n'
        "def count(table):\n"
        '    return run("count", _count_txn, table)\n\n\n'
        "def count_any(name_of):\n"
        '    return run("count_any", _count_txn, name_of())\n'
    ),
    "app/report.py": 'from app.db import count\n\n\ndef orders():\n    return count("orders")\n',
}


def test_a_runner_handed_an_unknown_keeps_the_callbacks_lr005(tmp_path: Path) -> None:
    """`count` hands its parameter to the runner with `_count_txn`: `count("orders")` is the finding. A
    second runner call hands `_count_txn` a value nobody knows, so `_count_txn`'s own LR005 stands."""
    root = write_tree(tmp_path / "app", _RUNNER)
    data = scan_json(root)
    found = sorted((f["path"], f["line"], f["rule"]) for f in data["findings"])
    assert found == [("app/db.py", 10, "LR005"), ("app/report.py", 5, "LR004")]
