"""`audit scan --changed-since REF` on a real git repository."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli.main import main
from auditor.gate.changed import ChangedLines, changed_lines, parse_diff, unquote

AUDIT_TOML = 'legacy = { "order_line_items" = "order_line_items_v2" }\n'
ORDERS = """import psycopg


def load_items(cur, order_id):
    cur.execute("SELECT id FROM order_line_items WHERE order_id = %s", (order_id,))
    return cur.fetchall()


def count_items(cur):
    cur.execute("SELECT count(*) FROM order_line_items")
    return cur.fetchone()[0]
"""
API = """def list_items(client):
    return client.table("order_line_items").select("*").execute()
"""
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env={**os.environ, **_GIT_ENV})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    (root / "app" / "orders.py").write_text(ORDERS, encoding="utf-8")
    (root / "app" / "api.py").write_text(API, encoding="utf-8")
    (root / ".gitignore").write_text(".audit_cache/\nignored.py\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def scan(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        main, ["scan", str(root), "--format", "json", "--jobs", "1", *extra], catch_exceptions=False
    )
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def found(report: dict[str, Any]) -> list[tuple[str, int]]:
    return [(f["path"], f["line"]) for f in report["findings"]]


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_no_changes_reports_nothing_and_passes(repo: Path) -> None:
    code, report = scan(repo, "--changed-since", "HEAD")
    assert code == 0
    assert report["findings"] == []
    assert report["changed_since"] == {"ref": "HEAD", "outside_changes": 3}


def test_unstaged_staged_committed_and_untracked_changes(repo: Path) -> None:
    git(repo, "tag", "base")
    # committed since the ref
    append(
        repo / "app" / "api.py",
        '\n\ndef purge(client):\n    client.table("order_line_items").delete().execute()\n',
    )
    git(repo, "commit", "-q", "-am", "purge")
    # staged
    orders = repo / "app" / "orders.py"
    orders.write_text(ORDERS.replace("SELECT count(*)", "SELECT count(id)"), encoding="utf-8")
    git(repo, "add", "app/orders.py")
    # unstaged, on top of the staged edit
    orders.write_text(
        orders.read_text().replace(
            "import psycopg\n", "import psycopg\n\nSQL = 'SELECT 1 FROM order_line_items'\n"
        )
    )
    # untracked: every line counts; ignored files do not
    (repo / "app" / "new.py").write_text('def f(cur):\n    cur.execute("DELETE FROM order_line_items")\n')
    (repo / "ignored.py").write_text('def f(cur):\n    cur.execute("DELETE FROM order_line_items")\n')

    code, report = scan(repo, "--changed-since", "base")
    assert code == 1
    assert found(report) == [
        ("app/api.py", 6),  # committed
        ("app/new.py", 2),  # untracked
        ("app/orders.py", 3),  # unstaged
        ("app/orders.py", 12),  # staged
    ]
    # the unchanged references (api.py:2, orders.py:7 after the insertion) are left out, still analysed
    assert report["changed_since"]["outside_changes"] == 2


def test_scan_root_below_the_repository_top(repo: Path) -> None:
    append(
        repo / "app" / "api.py",
        '\n\ndef purge(client):\n    client.table("order_line_items").delete().execute()\n',
    )
    (repo / "app" / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    code, report = scan(repo / "app", "--changed-since", "HEAD")
    assert code == 1
    assert found(report) == [("api.py", 6)]


def test_a_renamed_file_has_no_changed_lines(repo: Path) -> None:
    git(repo, "mv", "app/orders.py", "app/order_queries.py")
    code, report = scan(repo, "--changed-since", "HEAD")
    assert (code, report["findings"]) == (0, [])


def test_changed_since_with_baseline_and_fail_on(repo: Path) -> None:

    baseline = repo / "base.json"
    result = CliRunner().invoke(main, ["baseline", str(repo), "-o", str(baseline), "--jobs", "1"])
    assert result.exit_code == 0
    # an edit of a baselined line keeps its fingerprint; a new reference elsewhere is not on changed lines
    orders = repo / "app" / "orders.py"
    orders.write_text(
        ORDERS.replace("return cur.fetchall()", "return list(cur.fetchall())"), encoding="utf-8"
    )
    git(repo, "commit", "-q", "-am", "edit")
    append(orders, '\n\ndef purge(cur):\n    cur.execute("DELETE FROM order_line_items")\n')
    code, report = scan(repo, "--baseline", str(baseline), "--changed-since", "HEAD~1")
    assert code == 1
    assert found(report) == [("app/orders.py", 15)]
    assert report["baseline"]["new"] == 1 and report["changed_since"]["outside_changes"] == 0
    code, _ = scan(repo, "--baseline", str(baseline), "--changed-since", "HEAD~1", "--fail-on", "never")
    assert code == 0


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=x", "HEAD~5"])
def test_bad_ref_is_one_line_exit_2(repo: Path, ref: str) -> None:
    result = CliRunner().invoke(main, ["scan", str(repo), f"--changed-since={ref}", "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("audit: error: ") and result.stderr.count("\n") == 1
    assert "revision" in result.stderr
    assert not (repo / "x").exists()


def test_no_git_repository_is_one_line_exit_2(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    (root / "q.py").write_text('def f(c):\n    c.execute("SELECT 1 FROM order_line_items")\n')
    # keep git from finding a repository above tmp_path
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    try:
        result = CliRunner().invoke(main, ["scan", str(root), "--changed-since", "HEAD", "--jobs", "1"])
    finally:
        del os.environ["GIT_CEILING_DIRECTORIES"]
    assert result.exit_code == 2
    assert (
        result.stderr == f"audit: error: --changed-since needs a git repository: {root} is not inside one\n"
    )


# --- parsing, directly ------------------------------------------------------------------------------------


def test_parse_diff_reads_new_side_ranges() -> None:
    diff = [
        "diff --git a/a.py b/a.py",
        "--- a/a.py",
        "+++ b/a.py",
        "@@ -3 +3 @@ def f():",
        "-old",
        "+new",
        "@@ -10,0 +11,2 @@",
        "+++ an added line that looks like a header",
        "+x",
        "@@ -20,2 +22,0 @@",
        "-gone",
        "-gone",
        "diff --git a/my file.py b/my file.py",
        "--- a/my file.py\t",
        "+++ b/my file.py\t",
        "@@ -1 +1 @@",
        "diff --git a/d.py b/d.py",
        "--- a/d.py",
        "+++ /dev/null",
        "@@ -1,3 +0,0 @@",
        'diff --git "a/t\\tb.py" "b/t\\tb.py"',
        '+++ "b/t\\tb.py"',
        "@@ -0,0 +1 @@",
    ]
    assert parse_diff(diff) == {
        "a.py": frozenset({3, 11, 12}),
        "my file.py": frozenset({1}),
        "t\tb.py": frozenset({1}),
    }


def test_unquote_octal_utf8() -> None:
    assert unquote('"b/caf\\303\\251.py"') == "b/café.py"
    assert unquote("b/plain.py") == "b/plain.py"


def test_touches_spans_and_whole_files() -> None:
    changed = ChangedLines("HEAD", {"a.py": frozenset({5})}, frozenset({"new.py"}))
    assert changed.touches("a.py", 4, 6) and not changed.touches("a.py", 6, 9)
    assert changed.touches("new.py", 100, 100) and not changed.touches("b.py", 5, 5)


def test_changed_lines_value_errors(tmp_path: Path, repo: Path) -> None:
    assert str(changed_lines(str(repo), "nope")) == f"unknown git revision 'nope' (in {repo})"
    assert isinstance(changed_lines(str(repo), "HEAD"), ChangedLines)
