"""Issue 15: the tool in the hands of a hostile or careless user and a flaky environment.

One test per defect, named after it. Never fail open, never hide code, never damage what is not ours.
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, run_cli, write_tree

SHOP = FIXTURES / "shop"
LEGACY = ("--legacy", "orders=orders_v2")


def scan(root: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("scan", str(root), "--format", "json", "-j", "1", "--no-cache", *extra)
    assert code in (0, 1), err
    return code, json.loads(out), err


def plan(root: Path, *extra: str) -> dict[str, dict[str, Any]]:
    code, out, err = run_cli("plan", str(root), "--format", "json", "-j", "1", *extra)
    assert code == 0, err
    return {obj["legacy"]: obj for obj in json.loads(out)["objects"]}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".audit_cache"))
    return root


# --- fails open ---------------------------------------------------------------------------------------------

UNANALYSABLE = {
    "syntax-error": b"def broken(:\n    return 'SELECT * FROM orders'\n",
    "decode-error": b"QUERY = 'SELECT * FROM orders'  # caf\xe9\n",
    "too-large": b"QUERY = 'SELECT * FROM orders'\n" + b"# padding\n" * 300,
}


@pytest.mark.parametrize("kind", sorted(UNANALYSABLE))
def test_unanalysable_file_naming_a_legacy_object_is_not_ready(tmp_path: Path, kind: str) -> None:
    files = {"app.py": UNANALYSABLE[kind], "audit.toml": "max_file_bytes = 2000\n"}
    root = write_tree(tmp_path / "app", files)
    code, data, _ = scan(root, *LEGACY)
    assert [d["kind"] for d in data["diagnostics"]] == [kind]
    assert data["summary"]["ready_to_drop"] == []
    assert code == 1, "a file nobody could read names the legacy object: the scan must not pass"
    objects = data["plan"]["objects"]
    assert objects[0]["status"] == "blocked" and objects[0]["reasons"] == ["unanalysed files"]
    assert objects[0]["unanalysed"] == ["app.py"]
    assert data["plan"]["unanalysed_files"][0]["names"] == ["public.orders"]


def test_unanalysable_file_blocks_the_emitted_migration(shop: Path, tmp_path: Path) -> None:
    (shop / "shop" / "broken.py").write_text("def f(:\n    return 'select * from PRODUCTS'\n")
    objects = plan(shop, "--accept-unresolved")
    assert objects["public.products"]["status"] == "blocked"
    assert objects["public.products"]["unanalysed"] == ["shop/broken.py"]
    code, out, err = run_cli(
        "plan", str(shop), "--emit-migration", str(tmp_path / "out"), "--accept-unresolved"
    )
    assert code == 0, err
    assert "no migration written" in out and not (tmp_path / "out").exists()
    for fmt, needle in (("text", "blocked: unanalysed files"), ("markdown", "Blocked: unanalysed files"),
                        ("html", "blocked: unanalysed files")):  # fmt: skip
        code, out, err = run_cli("plan", str(shop), "--format", fmt, "--accept-unresolved")
        assert code == 0 and needle in out and "shop/broken.py" in out, (fmt, err)


def test_unanalysable_file_naming_no_legacy_object_is_reported_as_not_analysed(tmp_path: Path) -> None:
    # it builds SQL around a table keyword, so it is parsed: and fails
    broken = "def broken(t:\n    return f'SELECT 1 FROM {t}'\n"
    root = write_tree(tmp_path / "app", {"other.py": broken, "app.py": "x = 1\n"})
    code, data, _ = scan(root, *LEGACY)
    assert code == 0 and data["summary"]["ready_to_drop"] == ["public.orders"]
    assert data["plan"]["unanalysed_files"] == [
        {
            "path": "other.py",
            "kind": "syntax-error",
            "message": data["diagnostics"][0]["message"],
            "names": [],
        }
    ]
    code, out, _ = run_cli("scan", str(root), "--no-cache", "-j", "1", *LEGACY)
    assert "other.py: it names no legacy object" in " ".join(out.split())


def test_unresolved_table_names_block_until_accepted(tmp_path: Path) -> None:
    helper = "def count(cur, t):\n    cur.execute(f'SELECT 1 FROM {t}')\n"
    root = write_tree(tmp_path / "app", {"app.py": helper})
    code, data, _ = scan(root, *LEGACY, "--fail-on", "high")
    assert data["summary"]["ready_to_drop"] == []
    assert data["plan"]["objects"][0]["reasons"] == ["unresolved table names"]
    code, data, _ = scan(root, *LEGACY, "--fail-on", "high", "--accept-unresolved")
    assert code == 0 and data["summary"]["ready_to_drop"] == ["public.orders"]


# --- silent skips -------------------------------------------------------------------------------------------

QUERY = 'def load(cur):\n    cur.execute("SELECT * FROM orders")\n'


def test_utf16_python_file_with_bom_is_decoded(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "app", {"app.py": codecs.BOM_UTF16_LE + QUERY.encode("utf-16-le")})
    _, data, _ = scan(root, *LEGACY)
    assert [(f["path"], f["line"], f["column"], f["rule"]) for f in data["findings"]] == [
        ("app.py", 2, 32, "LR001")
    ]
    assert data["diagnostics"] == []


def test_utf16_python_file_without_bom_is_a_diagnostic(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "app", {"app.py": QUERY.encode("utf-16-le")})
    code, data, _ = scan(root, *LEGACY)
    assert [(d["path"], d["kind"]) for d in data["diagnostics"]] == [("app.py", "binary")]
    assert code == 1 and data["plan"]["objects"][0]["unanalysed"] == ["app.py"]


PLPGSQL_EXECUTE = """\
CREATE FUNCTION public.purge(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE 'SELECT * FROM orders';
  EXECUTE format('DELETE FROM %I WHERE id = %L', 'orders', 1);
  EXECUTE format('SELECT * FROM %I', t);
END $$;
"""


def test_plpgsql_execute_string_and_format_are_sql(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "app", {"db/purge.sql": PLPGSQL_EXECUTE})
    _, data, _ = scan(root, *LEGACY)
    assert [(f["line"], f["column"], f["rule"]) for f in data["findings"]] == [
        (3, 26, "LR102"),  # the literal EXECUTE runs
        (4, 51, "LR102"),  # the %I argument of format()
    ]


@pytest.mark.parametrize(
    "sql",
    ["SELEC * FROM orders;\n", "SELECT 1;\nDO $$ BEGIN PERFORM 1 FROM orders;\n"],
    ids=["typo", "unterminated"],
)
def test_sql_statement_sqlglot_cannot_parse_falls_back_at_medium(tmp_path: Path, sql: str) -> None:
    root = write_tree(tmp_path / "app", {"db/job.sql": sql})
    _, data, _ = scan(root, *LEGACY)
    assert [(f["rule"], f["legacy"], f["confidence"]) for f in data["findings"]] == [
        ("LR101", "public.orders", "medium")
    ]
