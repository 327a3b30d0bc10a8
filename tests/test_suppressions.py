"""`audit: ignore[CODE] reason` comments in Python and SQL, and LR900 for bad or useless ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli.main import main
from auditor.gate.suppressions import python_suppressions, sql_comments, sql_suppressions

AUDIT_TOML = 'legacy = { "order_line_items" = "order_line_items_v2" }\n'


def scan(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        main, ["scan", str(root), "--format", "json", "--jobs", "1", *extra], catch_exceptions=False
    )
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def codebase(root: Path, files: dict[str, str]) -> Path:
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def found(report: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(f["path"], f["line"], f["rule"]) for f in report["findings"]]


QUERY = 'cur.execute("SELECT id FROM order_line_items WHERE id = %s", (i,))'


def test_python_suppression_silences_its_codes_on_its_line(tmp_path: Path) -> None:
    root = codebase(
        tmp_path,
        {
            "app/q.py": "def f(cur, i):\n"
            f"    {QUERY}  # audit: ignore[LR001] read-only replica keeps the view\n"
            f"    {QUERY}\n",
        },
    )
    code, report = scan(root)
    assert code == 1
    assert found(report) == [("app/q.py", 3, "LR001")]
    assert report["suppressed"] == 1


def test_only_suppressed_findings_exit_0(tmp_path: Path) -> None:
    root = codebase(tmp_path, {"q.py": f"def f(cur, i):\n    {QUERY}  # audit: ignore[LR001] fine\n"})
    code, report = scan(root)
    assert (code, report["findings"]) == (0, [])


def test_several_codes_comma_separated(tmp_path: Path) -> None:
    line = (
        'rows = client.table("order_line_items").select("*").execute(); '
        'cur.execute("SELECT 1 FROM order_line_items")'
    )
    root = codebase(
        tmp_path,
        {"q.py": f"def f(client, cur):\n    {line}  # audit: ignore[LR004, lr001] migrated in PR 12\n"},
    )
    code, report = scan(root)
    assert (code, report["findings"], report["suppressed"]) == (0, [], 2)


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("# audit: ignore", "without a rule code"),
        ("# audit: ignore because reasons", "without a rule code"),
        ("# audit: ignore[LR001]", "gives no reason"),
        ("# audit: ignore[LR001]   ", "gives no reason"),
        ("# audit: ignore[] reason", "names no rule code"),
        ("# audit: ignore[LR999] reason", "unknown or unsuppressible rule code LR999"),
        ("# audit: ignore[LR001 reason", "not closed"),
    ],
)
def test_invalid_suppression_is_lr900_and_silences_nothing(
    tmp_path: Path, comment: str, message: str
) -> None:
    root = codebase(tmp_path, {"app/q.py": f"def f(cur, i):\n    {QUERY}  {comment}\n"})
    code, report = scan(root)
    assert code == 1
    assert found(report) == [("app/q.py", 2, "LR001"), ("app/q.py", 2, "LR900")]
    lr900 = report["findings"][1]
    assert message in lr900["message"] and "silences nothing" in lr900["message"]
    assert lr900["legacy"] is None and lr900["target"] is None
    assert lr900["confidence"] == "high"
    assert lr900["block"] == "app/q.py:<suppression>"
    assert lr900["column"] == 4 + len(QUERY) + 3  # at the comment
    assert lr900["end_column"] == lr900["column"] + len(comment.rstrip())
    assert lr900["snippet"] == f"{QUERY}  {comment}".strip()


def test_suppression_that_silences_nothing_is_lr900(tmp_path: Path) -> None:
    root = codebase(
        tmp_path,
        {"q.py": f"def f(cur, i):\n    {QUERY}  # audit: ignore[LR001, LR004] both were here once\n"},
    )
    code, report = scan(root)
    assert code == 1
    assert found(report) == [("q.py", 2, "LR900")]  # LR001 is silenced, LR004 matches nothing
    assert report["findings"][0]["message"] == (
        "`audit: ignore[LR004]` silences nothing: no LR004 finding on this line"
    )


def test_stale_suppression_on_a_clean_line(tmp_path: Path) -> None:
    root = codebase(
        tmp_path,
        {
            "q.py": "def f(cur):\n"
            '    cur.execute("SELECT 1 FROM order_line_items_v2")  # audit: ignore[LR001] old\n'
        },
    )
    code, report = scan(root)
    assert code == 1 and found(report) == [("q.py", 2, "LR900")]


def test_text_in_a_string_is_not_a_suppression(tmp_path: Path) -> None:
    root = codebase(
        tmp_path,
        {
            "q.py": "def f(cur):\n"
            '    cur.execute("SELECT 1 FROM order_line_items -- audit: ignore[LR001] not a comment")\n'
            '    note = "# audit: ignore"\n'
        },
    )
    code, report = scan(root)
    assert code == 1
    assert found(report) == [("q.py", 2, "LR001")]  # not silenced, and no LR900 for the strings


def test_comment_after_a_triple_quoted_query_covers_its_lines(tmp_path: Path) -> None:
    root = codebase(
        tmp_path,
        {
            "q.py": "def f(cur):\n"
            '    cur.execute("""\n'
            "        SELECT id\n"
            "        FROM order_line_items\n"
            '    """)  # audit: ignore[LR001] the report job still reads the view\n'
        },
    )
    code, report = scan(root)
    assert (code, report["findings"], report["suppressed"]) == (0, [], 1)


def test_sql_suppression(tmp_path: Path) -> None:
    root = codebase(
        tmp_path,
        {
            "reports/daily.sql": "SELECT count(*) FROM order_line_items; -- audit: ignore[LR101] old job\n"
            "SELECT '-- audit: ignore[LR101] in a string' FROM order_line_items;\n"
            "SELECT 1 FROM order_line_items; -- audit: ignore\n",
        },
    )
    code, report = scan(root)
    assert code == 1
    assert found(report) == [
        ("reports/daily.sql", 2, "LR101"),
        ("reports/daily.sql", 3, "LR101"),
        ("reports/daily.sql", 3, "LR900"),
    ]
    assert report["findings"][2]["block"] == "reports/daily.sql:<suppression>"
    assert report["findings"][2]["column"] == len("SELECT 1 FROM order_line_items; ") + 1


def test_suppressed_findings_stay_out_of_the_baseline(tmp_path: Path) -> None:

    root = codebase(
        tmp_path,
        {"q.py": f"def f(cur, i):\n    {QUERY}  # audit: ignore[LR001] fine\n    {QUERY}  # audit: ignore\n"},
    )
    result = CliRunner().invoke(main, ["baseline", str(root), "--jobs", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    entries = json.loads((root / ".audit-baseline.json").read_text(encoding="utf-8"))["findings"]
    assert [(e["line"], e["rule"]) for e in entries] == [(3, "LR001"), (3, "LR900")]


# --- comment detection, directly --------------------------------------------------------------------------


def test_sql_comments_skip_literals_identifiers_and_block_comments() -> None:
    text = (
        "SELECT 'it''s -- not', E'\\' -- still not', \"col -- x\" /* a /* nested */ -- no */ FROM t -- yes\n"
        "SELECT $$ -- body $$, $tag$ x $tag$ -- last\n"
        "SELECT a$b -- after an identifier with a dollar\n"
    )
    comments = [comment for _, comment in sql_comments(text)]
    assert comments == ["-- yes", "-- body $$, $tag$ x $tag$ -- last", "-- after an identifier with a dollar"]


def test_sql_comment_inside_a_function_body_counts() -> None:
    text = (
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n"
        "  RETURN (SELECT count(*) FROM order_line_items); -- audit: ignore[LR102] dropped together\n"
        "END $fn$;\n"
    )
    [suppression] = sql_suppressions("f.sql", text)
    assert (suppression.span.line, suppression.codes, suppression.valid) == (3, ("LR102",), True)
    assert suppression.reason == "dropped together"


def test_python_suppressions_survive_a_tokenize_error() -> None:
    text = "x = 1  # audit: ignore[LR001] ok\ny = (\n"
    [suppression] = python_suppressions("f.py", text)
    assert suppression.span.line == 1 and suppression.valid


def test_mark_after_another_comment_counts() -> None:
    [suppression] = python_suppressions("f.py", "x = 1  # noqa: E501  # audit: ignore[LR005] checked\n")
    assert suppression.codes == ("LR005",) and suppression.reason == "checked"
    assert python_suppressions("f.py", "x = 1  # we do not use audit: ignore here\n") == []


def test_code_in_other_languages_is_suppressed_by_its_own_comments(tmp_path: Path) -> None:
    """A finding in a file the scan lists without analysing is silenced by a comment written the way that
    language writes one; the same mark inside a string silences nothing."""
    root = codebase(
        tmp_path,
        {
            "web/api.ts": 'const a = await supabase.from("order_line_items").select("*");\n'
            'const b = "order_line_items"; // audit: ignore[LR006] a cache key, not the table\n'
            'const c = "order_line_items"; /* audit: ignore[LR006] a route name */\n'
            'const d = "order_line_items", note = "// audit: ignore[LR006] inside a string";\n',
            "scripts/load.sh": 'psql -c "select * from order_line_items"  # audit: ignore[LR006] one-off\n'
            'echo "order_line_items # audit: ignore[LR006] quoted"\n',
            "hasura/tables.yaml": "table:\n"
            "  name: order_line_items  # audit: ignore[LR006] tracked until June\n",
            "reports/cleanup.psql": "delete from order_line_items;  -- audit: ignore[LR006] run by hand\n",
            "web/bad.ts": 'const e = "order_line_items"; // audit: ignore[LR006]\n',
        },
    )
    _, report = scan(root)
    assert sorted(found(report)) == [
        ("scripts/load.sh", 2, "LR006"),
        ("web/api.ts", 1, "LR004"),
        ("web/api.ts", 4, "LR006"),
        ("web/bad.ts", 1, "LR006"),
        ("web/bad.ts", 1, "LR900"),
    ]
    assert report["suppressed"] == 5
    (bad,) = [f for f in report["findings"] if f["rule"] == "LR900"]
    assert "gives no reason" in bad["message"]
    # the advice of an unsuppressed finding there names the suppression comment
    (left,) = [f for f in report["findings"] if f["path"] == "web/api.ts" and f["rule"] == "LR006"]
    assert "suppress it with a reason" in left["message"]
