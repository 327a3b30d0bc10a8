"""`audit baseline` and `audit scan --baseline`: real edits of a small codebase, through the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli.main import main
from auditor.core.model import Confidence, Finding, ObjectName, Span
from auditor.gate.baseline import BaselineEntry, compare, parse_baseline

AUDIT_TOML = 'legacy = { "order_line_items" = "order_line_items_v2" }\n'

ORDERS = '''"""Order queries."""

import psycopg


def load_items(conn: psycopg.Connection, order_id: int) -> list:
    with conn.cursor() as cur:
        cur.execute("SELECT id, quantity FROM order_line_items WHERE order_id = %s", (order_id,))
        return cur.fetchall()


def count_items(conn: psycopg.Connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM order_line_items")
        return cur.fetchone()[0]
'''

API = """from supabase import Client


def list_items(client: Client, order_id: int):
    return client.table("order_line_items").select("id, quantity").eq("order_id", order_id).execute()
"""


def make_codebase(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    (root / "app" / "orders.py").write_text(ORDERS, encoding="utf-8")
    (root / "app" / "api.py").write_text(API, encoding="utf-8")
    return root


def audit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--jobs", "1"], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_baseline(root: Path) -> dict[str, Any]:
    code, _, err = audit("baseline", str(root))
    assert code == 0, err
    return json.loads((root / ".audit-baseline.json").read_text(encoding="utf-8"))


def scan_against_baseline(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    baseline = str(root / ".audit-baseline.json")
    code, out, err = audit("scan", str(root), "--format", "json", "--baseline", baseline, *extra)
    assert code in (0, 1), err
    return code, json.loads(out)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def codebase(tmp_path: Path) -> Path:
    return make_codebase(tmp_path / "project")


# --- the baseline file ----------------------------------------------------------------------------------


def test_baseline_file_is_sorted_readable_and_complete(codebase: Path) -> None:
    document = write_baseline(codebase)
    text = (codebase / ".audit-baseline.json").read_text(encoding="utf-8")
    assert list(document) == ["schema_version", "tool", "findings"]
    assert document["schema_version"] == 1
    assert document["tool"]["name"] == "auditor"
    entries = document["findings"]
    assert [(e["path"], e["line"], e["rule"]) for e in entries] == [
        ("app/api.py", 5, "LR004"),
        ("app/orders.py", 8, "LR001"),
        ("app/orders.py", 14, "LR001"),
    ]
    assert all(list(e) == ["fingerprint", "rule", "legacy", "path", "line", "snippet"] for e in entries)
    assert entries[2]["snippet"] == 'cur.execute("SELECT count(*) FROM order_line_items")'
    assert entries[0]["legacy"] == "public.order_line_items"
    assert text.startswith('{\n  "schema_version": 1,\n') and text.endswith("}\n")
    # the write is atomic: no temporary file is left behind
    assert [name for name in os.listdir(codebase) if name.endswith(".tmp")] == []


def test_baseline_is_stable_across_runs_and_honours_output(codebase: Path, tmp_path: Path) -> None:
    write_baseline(codebase)
    other = tmp_path / "elsewhere.json"
    code, _, err = audit("baseline", str(codebase), "--output", str(other))
    assert code == 0
    assert "wrote 3 finding(s)" in err
    assert other.read_bytes() == (codebase / ".audit-baseline.json").read_bytes()


def test_long_snippets_are_shortened(codebase: Path) -> None:
    padding = "x" * 200
    edit(
        codebase / "app" / "orders.py", "WHERE order_id = %s", f"WHERE order_id = %s AND note <> '{padding}'"
    )
    entries = write_baseline(codebase)["findings"]
    snippet = next(e["snippet"] for e in entries if e["line"] == 8)
    assert len(snippet) == 120 and snippet.endswith("…")


def test_scan_against_its_own_baseline_reports_nothing(codebase: Path) -> None:
    write_baseline(codebase)
    code, report = scan_against_baseline(codebase)
    assert code == 0
    assert report["findings"] == []
    assert report["baseline"] == {"new": 0, "fixed": [], "unchanged": 3}


# --- fingerprints survive edits that do not touch the reference -------------------------------------------


def _assert_no_change(root: Path) -> None:
    code, report = scan_against_baseline(root)
    assert (code, report["findings"], report["baseline"]) == (0, [], {"new": 0, "fixed": [], "unchanged": 3})


def test_lines_inserted_above(codebase: Path) -> None:
    write_baseline(codebase)
    edit(codebase / "app" / "orders.py", "import psycopg\n", "import logging\n\nimport psycopg\n\nLOG = 1\n")
    edit(codebase / "app" / "api.py", "from supabase", "# the REST client\n\nfrom supabase")
    _assert_no_change(codebase)


def test_function_moved_within_the_file(codebase: Path) -> None:
    write_baseline(codebase)
    path = codebase / "app" / "orders.py"
    head, load, count = path.read_text(encoding="utf-8").split("\n\n\n")
    path.write_text("\n\n\n".join([head, count.rstrip("\n"), load]) + "\n", encoding="utf-8")
    assert path.read_text(encoding="utf-8").index("count_items") < path.read_text().index("load_items")
    _assert_no_change(codebase)


def test_unrelated_edits_and_reformatting(codebase: Path) -> None:
    write_baseline(codebase)
    # re-indented with two spaces, the call respaced, a docstring and statements added around it
    (codebase / "app" / "orders.py").write_text(
        '"""Order queries, reformatted."""\n'
        "import psycopg\n"
        "def load_items(conn: psycopg.Connection, order_id: int) -> list:\n"
        '  """All items of an order."""\n'
        "  assert order_id > 0\n"
        "  with conn.cursor() as cur:\n"
        '    cur.execute( "SELECT id, quantity FROM order_line_items WHERE order_id = %s" , ( order_id, ) )\n'
        "    rows = cur.fetchall()\n"
        "  return rows\n"
        "def count_items(conn: psycopg.Connection) -> int:\n"
        "  with conn.cursor() as cur:\n"
        '    cur.execute("SELECT count(*) FROM order_line_items")\n'
        "    return cur.fetchone()[0]\n",
        encoding="utf-8",
    )
    _assert_no_change(codebase)


def test_renamed_file(codebase: Path) -> None:
    write_baseline(codebase)
    (codebase / "app" / "orders.py").rename(codebase / "app" / "order_queries.py")
    _assert_no_change(codebase)


def test_two_identical_references_in_one_block_count_twice(codebase: Path) -> None:
    line = '        cur.execute("SELECT count(*) FROM order_line_items")\n'
    path = codebase / "app" / "orders.py"
    write_baseline(codebase)
    edit(path, line, line + line)  # a second, identical reference: one new finding
    code, report = scan_against_baseline(codebase)
    assert code == 1
    assert [(f["path"], f["line"], f["rule"]) for f in report["findings"]] == [("app/orders.py", 15, "LR001")]
    assert report["baseline"] == {"new": 1, "fixed": [], "unchanged": 3}

    write_baseline(codebase)  # both are in the baseline now; removing one fixes one
    assert len(json.loads((codebase / ".audit-baseline.json").read_text())["findings"]) == 4
    edit(path, line + line, line)
    code, report = scan_against_baseline(codebase)
    assert code == 0
    assert report["findings"] == []
    assert [(e["path"], e["rule"]) for e in report["baseline"]["fixed"]] == [("app/orders.py", "LR001")]
    assert report["baseline"]["unchanged"] == 3


# --- new and fixed findings -------------------------------------------------------------------------------


def test_new_reference_fails_and_fixed_one_is_reported(codebase: Path) -> None:
    write_baseline(codebase)
    edit(codebase / "app" / "api.py", '"order_line_items"', '"order_line_items_v2"')  # fixed
    with (codebase / "app" / "orders.py").open("a", encoding="utf-8") as handle:
        handle.write('\n\ndef purge(cur) -> None:\n    cur.execute("DELETE FROM order_line_items")\n')
    code, report = scan_against_baseline(codebase)
    assert code == 1
    assert [(f["path"], f["line"], f["rule"]) for f in report["findings"]] == [("app/orders.py", 19, "LR001")]
    assert report["findings"][0]["fingerprint"]
    fixed = report["baseline"]["fixed"]
    assert [(e["path"], e["line"], e["rule"]) for e in fixed] == [("app/api.py", 5, "LR004")]
    assert report["baseline"]["new"] == 1 and report["baseline"]["unchanged"] == 2

    code, out, _ = audit(
        "scan", str(codebase), "--no-frames", "--baseline", str(codebase / ".audit-baseline.json")
    )
    assert code == 1
    assert "fixed since baseline (1):" in out
    assert "app/api.py:5 LR004 public.order_line_items" in out
    assert "app/orders.py:19:" in out and "app/orders.py:8:" not in out


def test_fixing_everything_passes(codebase: Path) -> None:
    write_baseline(codebase)
    for name in ("orders.py", "api.py"):
        path = codebase / "app" / name
        path.write_text(path.read_text().replace("order_line_items", "order_line_items_v2"), encoding="utf-8")
    code, report = scan_against_baseline(codebase)
    assert code == 0
    assert report["baseline"]["new"] == 0 and len(report["baseline"]["fixed"]) == 3


def test_same_fingerprint_in_two_files_matches_the_same_path_first(codebase: Path) -> None:
    copy = codebase / "app" / "orders_copy.py"
    copy.write_text(ORDERS, encoding="utf-8")
    entries = write_baseline(codebase)["findings"]
    prints = {e["path"]: e["fingerprint"] for e in entries if e["line"] == 14}
    assert prints["app/orders.py"] == prints["app/orders_copy.py"]  # the path is not part of the identity
    edit(copy, "SELECT count(*) FROM order_line_items", "SELECT count(*) FROM order_line_items_v2")
    code, report = scan_against_baseline(codebase)
    assert code == 0
    assert [(e["path"], e["line"]) for e in report["baseline"]["fixed"]] == [("app/orders_copy.py", 14)]


def test_update_baseline_only_removes_entries(codebase: Path) -> None:
    write_baseline(codebase)
    baseline = codebase / ".audit-baseline.json"
    edit(codebase / "app" / "api.py", '"order_line_items"', '"order_line_items_v2"')
    with (codebase / "app" / "orders.py").open("a", encoding="utf-8") as handle:
        handle.write('\n\ndef purge(cur) -> None:\n    cur.execute("DELETE FROM order_line_items")\n')
    code, _, err = audit(
        "scan", str(codebase), "--format", "json", "--baseline", str(baseline), "--update-baseline"
    )
    assert code == 1  # the new finding still fails the build
    assert f"removed 1 fixed finding(s) from {baseline}" in err
    entries = json.loads(baseline.read_text(encoding="utf-8"))["findings"]
    assert [(e["path"], e["line"]) for e in entries] == [("app/orders.py", 8), ("app/orders.py", 14)]

    code, report = scan_against_baseline(codebase, "--update-baseline")  # nothing fixed: no rewrite
    assert code == 1 and report["baseline"] == {"new": 1, "fixed": [], "unchanged": 2}
    assert len(json.loads(baseline.read_text(encoding="utf-8"))["findings"]) == 2


# --- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline file not found"),
        ("{not json", "invalid JSON"),
        ('{"schema_version": 2, "findings": []}', "unsupported baseline schema_version 2"),
        ('{"schema_version": 1, "findings": [{"rule": "LR001"}]}', "finding #1: `fingerprint` must be str"),
        ("[]", "not a baseline"),
    ],
)
def test_unusable_baseline_is_one_line_exit_2(codebase: Path, content: str | None, message: str) -> None:
    path = codebase / "base.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = audit("scan", str(codebase), "--baseline", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("audit: error: ") and message in err and err.count("\n") == 1


def test_update_baseline_needs_a_baseline(codebase: Path) -> None:
    code, _, err = audit("scan", str(codebase), "--update-baseline")
    assert code == 2 and err == "audit: error: --update-baseline needs --baseline FILE\n"


# --- matching, directly -----------------------------------------------------------------------------------


def _finding(path: str, line: int) -> Finding:
    return Finding(
        rule="LR001",
        path=path,
        span=Span(line, 1, line, 2),
        legacy=ObjectName("public", "t"),
        target=None,
        block="m:f",
        confidence=Confidence.HIGH,
        message="m",
        snippet="x",
    )


def test_compare_is_a_multiset_match() -> None:
    entry = BaselineEntry("aaaa", "LR001", "public.t", "a.py", 1, "x")
    baseline = parse_baseline(json.dumps({"schema_version": 1, "findings": []}))
    baseline = type(baseline)((entry, entry))
    findings = [_finding("a.py", 1), _finding("a.py", 2), _finding("a.py", 3)]
    comparison = compare(findings, ["aaaa", "aaaa", "aaaa"], baseline)
    assert comparison.unchanged == (0, 1) and comparison.new == (2,) and comparison.fixed == ()
    comparison = compare(findings[:1], ["aaaa"], baseline)
    assert comparison.fixed == (entry,)
