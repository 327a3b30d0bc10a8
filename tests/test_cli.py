"""The CLI's contracts: bad input never crashes a scan, bad usage exits 2 in one line, reports are safe."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli, scan_json, write_tree

LEGACY = 'legacy = { "order_line_items" = "order_line_items_v2" }\n'
QUERY = 'def load(cur):\n    cur.execute("SELECT * FROM order_line_items")\n'


def codebase(root: Path, files: dict[str, str | bytes]) -> Path:
    return write_tree(root, {"audit.toml": LEGACY, **files})


def test_bad_input_fixture_reports_diagnostics_and_goes_on() -> None:
    data = scan_json(FIXTURES / "cases" / "bad_input")
    kinds = sorted((d["path"], d["kind"]) for d in data["diagnostics"])
    assert [k for _, k in kinds].count("decode-error") == 2
    assert any(k == "syntax-error" for _, k in kinds)
    # the files that do not parse or decode name the legacy view: LR006, never silence
    assert sorted(f["rule"] for f in data["findings"]) == ["LR001", "LR006", "LR006", "LR006"]


def test_huge_file_and_symlink_loop_are_diagnostics(tmp_path: Path) -> None:
    root = codebase(tmp_path / "app", {"ok.py": QUERY})
    (root / "generated.py").write_text("X = 'order_line_items'\n" * 300_000)  # about 7 MB
    os.symlink(root, root / "loop")  # a directory that contains itself
    os.symlink("selfref.py", root / "selfref.py")  # a link to itself
    data = scan_json(root)
    kinds = {d["path"]: d["kind"] for d in data["diagnostics"]}
    assert kinds["generated.py"] == "too-large"
    assert kinds["loop"] == "symlink-loop"
    assert kinds["selfref.py"] == "symlink-loop"
    assert [(f["path"], f["line"], f["column"]) for f in data["findings"]] == [("ok.py", 2, 32)]


def test_empty_catalog_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(QUERY)
    code, _, err = run_cli("scan", str(tmp_path), "--no-cache")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("audit: error: the legacy catalog is empty")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("legacy = [1, 2]\n", "legacy must map names to names"),
        ("legacy = {\n", "invalid TOML"),
        ('colour = "blue"\n', "unknown key 'colour'"),
        ('sinks = [{ method = "q", kind = "nope", arg = 0 }]\n' + LEGACY, "sink kind 'nope'"),
        ('sinks = [{ method = "q", arg = 0, prefix = 3 }]\n' + LEGACY, "prefix must be a string"),
        ('sinks = [{ method = "q", arg = 0, kind = "table", prefix = "X " }]\n' + LEGACY, "takes a prefix"),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "audit.toml").write_text(config)
    code, _, err = run_cli("scan", str(tmp_path), "--no-cache")
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_rule_packs_lookup_names_the_containers_that_hold_tables(tmp_path: Path) -> None:
    pack = '[[lookup]]\nreceiver_names = ["registry"]\nmethods = ["fetch"]\n'
    root = write_tree(
        tmp_path / "app",
        {
            "audit.toml": LEGACY + 'rule_packs = ["packs/registry.toml"]\n',
            "packs/registry.toml": pack,
            "jobs.py": (
                "def run(registry, cache, name):\n"
                '    registry["order_line_items"].truncate()\n'
                '    registry.fetch("order_line_items").vacuum()\n'
                '    cache["order_line_items"] = 1\n'
                "    return registry[name]\n"
            ),
        },
    )
    found = sorted((f["line"], f["column"], f["rule"]) for f in scan_json(root)["findings"])
    # the key of the container the pack names is the table (an unknown one unresolved); another dict's is not
    assert found == [(2, 15, "LR004"), (3, 21, "LR004"), (5, 21, "LR005")]
    code, out, _ = run_cli("sinks", str(root))
    assert code == 0 and "configured table            registry[key]  [registry]" in out
    (root / "packs" / "registry.toml").write_text(pack.replace('receiver_names = ["registry"]\n', ""))
    code, _, err = run_cli("scan", str(root), "--no-cache")
    assert code == 2 and err.count("\n") == 1
    assert "a lookup needs receiver_types or receiver_names" in err


def test_bad_flag_exits_2(tmp_path: Path) -> None:
    code, _, err = run_cli("scan", str(tmp_path), "--legacy", "no-equals-sign")
    assert code == 2 and "OLD=NEW" in err


def test_cli_legacy_overrides_config_and_catalog_names_sources(tmp_path: Path) -> None:
    root = codebase(tmp_path / "app", {"a.py": QUERY})
    code, out, _ = run_cli(
        "catalog", str(root), "--legacy", "order_line_items=line_items", "--format", "json"
    )
    assert code == 0
    assert json.loads(out) == [
        {
            "legacy": "public.order_line_items",
            "target": "public.line_items",
            "kind": "name",
            "source": "cli",
            "columns": {},
            "evidence": ["declared in the config", "declared in --legacy"],
            "computed": {},
        }
    ]


def test_jobs_and_cache_do_not_change_results(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", root)
    reference = scan_json(root, "--jobs", "1")
    cold = run_cli("scan", str(root), "--format", "json", "--jobs", "2")
    warm = run_cli("scan", str(root), "--format", "json", "--jobs", "2")
    assert json.loads(cold[1])["findings"] == reference["findings"] == json.loads(warm[1])["findings"]
    cache_files = list((root / ".audit_cache").glob("facts-*.pickle"))
    assert cache_files, "the scan writes its cache"
    for cache in cache_files:
        cache.write_bytes(b"\x80\x05not a pickle")  # corrupt: ignored and rebuilt, never trusted
    again = run_cli("scan", str(root), "--format", "json")
    assert json.loads(again[1])["findings"] == reference["findings"]


def test_report_written_atomically_with_normal_permissions(tmp_path: Path) -> None:
    root = codebase(tmp_path / "app", {"a.py": QUERY})
    report = tmp_path / "report.json"
    old_umask = os.umask(0o022)
    try:
        code, out, _ = run_cli("scan", str(root), "--format", "json", "--output", str(report), "--no-cache")
    finally:
        os.umask(old_umask)
    assert code == 1 and out == ""
    assert stat.S_IMODE(report.stat().st_mode) == 0o644
    assert json.loads(report.read_text())["summary"]["findings"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".audit-")] == []


def test_latin1_source_columns_count_characters() -> None:
    data = scan_json(FIXTURES / "cases" / "latin1_cookie")
    assert data["diagnostics"] == []
    assert data["findings"], "a latin-1 file with a coding cookie is scanned like any other"


def test_rules_command_explains_a_rule() -> None:
    code, out, _ = run_cli("rules", "LR005")
    assert code == 0 and "unresolved-dynamic-table-name" in out and "Why" in out
    code, _, err = run_cli("rules", "LR999")
    assert code == 2 and "unknown rule" in err


def test_unresolved_scope_limits_lr005_to_files_naming_legacy_objects(tmp_path: Path) -> None:
    dynamic = 'def count(cur, table):\n    return cur.execute(f"SELECT count(*) FROM {table}")\n'
    root = codebase(tmp_path / "app", {"legacy.py": QUERY, "generic.py": dynamic})
    everywhere = scan_json(root)
    assert sorted((f["path"], f["rule"]) for f in everywhere["findings"]) == [
        ("generic.py", "LR005"),
        ("legacy.py", "LR001"),
    ]
    near = scan_json(root, "--unresolved", "legacy-files")
    assert [(f["path"], f["rule"]) for f in near["findings"]] == [("legacy.py", "LR001")]
    (root / "audit.toml").write_text(LEGACY + 'unresolved = "nearby"\n')
    code, _, err = run_cli("scan", str(root), "--no-cache")
    assert code == 2 and "unresolved must be one of" in err


def test_migrations_in_common_directories_feed_the_catalog(tmp_path: Path) -> None:
    """Flyway-style db/migration: versions in numeric order, history not reported, queries are."""
    root = tmp_path / "svc"
    (root / "db" / "migration").mkdir(parents=True)
    (root / "reports").mkdir()
    migrations = {
        "V1__init.sql": "create table public.order_line_items (id bigint primary key, qty int);\n",
        "V2__rename.sql": "alter table public.order_line_items rename to order_line_items_v2;\n"
        "create view public.order_line_items as select id, qty from public.order_line_items_v2;\n",
        "V10__backfill.sql": "update public.order_line_items_v2 set qty = 0 where qty is null;\n",
    }
    for name, text in migrations.items():
        (root / "db" / "migration" / name).write_text(text)
    (root / "reports" / "daily.sql").write_text("select count(*) from public.order_line_items;\n")
    code, out, _ = run_cli("catalog", str(root), "--format", "json")
    assert code == 0
    [entry] = json.loads(out)
    assert (entry["legacy"], entry["target"], entry["source"]) == (
        "public.order_line_items",
        "public.order_line_items_v2",
        "db/migration/V2__rename.sql:2",
    )
    data = scan_json(root)
    assert [(f["path"], f["line"], f["column"], f["rule"]) for f in data["findings"]] == [
        ("reports/daily.sql", 1, 29, "LR101")
    ]


def test_one_migrations_sql_file_is_history_replayed_in_order(tmp_path: Path) -> None:
    """`sql/migrations.sql`, every migration appended to one file: the catalog comes from it, and its
    statements are history, never blockers; the schema file beside it is the current schema."""
    root = tmp_path / "svc"
    (root / "sql").mkdir(parents=True)
    (root / "sql" / "migrations.sql").write_text(
        "-- migration #1\ncreate table order_line_items (id bigint primary key, qty int);\n"
        "-- migration #2\nalter table order_line_items rename to order_line_items_v2;\n"
        "create view order_line_items as select id, qty from order_line_items_v2;\n"
        "-- migration #3\nupdate order_line_items set qty = 0 where qty is null;\n"
    )
    (root / "sql" / "schema.sql").write_text(
        "create table order_line_items_v2 (id bigint primary key, qty int);\n"
        "create view order_line_items as select id, qty from order_line_items_v2;\n"
    )
    code, out, _ = run_cli("catalog", str(root), "--format", "json")
    assert code == 0
    [entry] = json.loads(out)
    assert (entry["legacy"], entry["source"]) == ("public.order_line_items", "sql/migrations.sql:5")
    data = scan_json(root)
    # the backfill through the view ran in the replay, before any drop: history, which blocks nothing
    assert [(f["path"], f["line"], f["rule"]) for f in data["findings"]] == [
        ("sql/migrations.sql", 7, "LR101")
    ]
    assert data["summary"]["ready_to_drop"] == ["public.order_line_items"]


def test_sinks_lists_built_in_configured_and_inferred_helpers() -> None:
    code, out, err = run_cli("sinks", str(FIXTURES / "cases" / "table_name_helpers"), "--format", "json")
    assert code == 0, err
    sinks = json.loads(out)["sinks"]
    origins = {s["origin"] for s in sinks}
    assert origins == {"built-in", "inferred"}
    inferred = {(s["call"], s["parameter"]): s for s in sinks if s["origin"] == "inferred"}
    upsert = inferred[("app.db.database.Database.upsert", "table")]
    assert (upsert["path"], upsert["line"], upsert["reaches"]) == ("app/db/database.py", 19, "self.insert()")
    assert upsert["via"] == ["app.db.database.Database.insert"]
    assert inferred[("app.services.totals.total", "name")]["via"] == ["app.db.database.count_rows"]
    assert ("app.db.database.Database.__init__", "conn") not in inferred
    code, out, _ = run_cli("sinks", str(FIXTURES / "cases" / "custom_sink"))
    assert code == 0
    assert "configured table            mydb.count(0)  [config]" in out
    assert "inferred   table            mydb.count(table)  mydb.py:27: reaches execute() (mydb.count)" in out


def test_unresolved_values_are_named_by_their_source_text(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "app",
        {
            "audit.toml": 'legacy = { "orders" = "orders_v2" }\n',
            "report.py": (
                "def monthly(cur, names, pick):\n"
                '    cur.execute("SELECT * FROM " + ", ".join(names))\n'
                '    cur.execute("SELECT * FROM " + ", ".join(pick(kind="all")))\n'
                "    cur.execute(f\"SELECT * FROM {pick(kind='monthly')[0]}\")\n"
            ),
        },
    )
    messages = [f["message"] for f in scan_json(root)["findings"]]
    assert any('comes from result of `", ".join(…)`' in m for m in messages), messages
    assert any("comes from an element of parameter `names` of `monthly`;" in m for m in messages), messages
    assert any("comes from computed value `pick(…)[…]`" in m for m in messages), messages
    assert not any("Attribute" in m or "<" in m for m in messages), messages


def test_sql_files_read_by_python_name_the_block_that_runs_them() -> None:
    data = scan_json(FIXTURES / "cases" / "sql_read_from_files")
    via = {f["path"]: f["via"] for f in data["findings"]}
    assert via == {
        "app/queries/monthly.sql": ["app.reports:monthly"],
        "app/queries/weekly.sql": ["app.reports:weekly"],
    }
    assert not [f for f in data["findings"] if f["rule"] == "LR005"]


def test_summary_table_keeps_the_names_on_an_80_column_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped or narrow output folds the legacy names; it never squeezes their columns to nothing."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run_cli("scan", str(FIXTURES / "shop"), "--jobs", "1", "--no-cache")
    assert code == 1
    table = out[out.index("Legacy objects") :]
    rows = [line for line in table.splitlines() if line.startswith("│")]
    assert "".join(line.split("│")[1].strip() for line in rows).startswith("public.customer_addresses")
    assert all(len(line) <= 80 for line in table.splitlines())


def _console_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from auditor.cli.main import entry; entry()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd, check=False)


def test_console_script_flushes_everything_and_keeps_the_exit_status(tmp_path: Path) -> None:
    """The console script skips the interpreter's teardown: what it printed and its status must survive."""
    shop = shutil.copytree(FIXTURES / "shop", tmp_path / "shop")
    done = _console_script("scan", str(shop), "--format", "json", "--no-cache", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # findings fail the build
    report = json.loads(done.stdout)  # the whole document reached the pipe
    assert report["summary"]["findings"] == len(report["findings"]) > 0
    done = _console_script("rules", cwd=tmp_path)
    assert done.returncode == 0 and "LR001" in done.stdout
    done = _console_script("scan", str(shop), "--jobs", "-1", cwd=tmp_path)
    assert done.returncode == 2 and "Invalid value for '--jobs'" in done.stderr
    done = _console_script("no-such-command", cwd=tmp_path)
    assert done.returncode == 2 and "No such command" in done.stderr


def test_timings_report_every_stage_on_stderr_and_leave_the_report_alone(tmp_path: Path) -> None:
    shop = shutil.copytree(FIXTURES / "shop", tmp_path / "shop")
    code, out, err = run_cli("scan", str(shop), "--format", "json", "--timings", "--jobs", "1")
    assert code == 1
    assert json.loads(out)["findings"]  # stdout holds the report only
    rows = {
        line.rsplit(None, 3)[0]: line.rsplit(None, 3)[1:]
        for line in err.splitlines()[1:]
        if line[:1].isalpha()
    }
    for stage in ("discover", "migrations", "catalog", "python: read and parse", "resolve", "report"):
        assert stage in rows, err
    wall, cpu, _ = (float(v) for v in rows["total"])
    assert wall > 0 and cpu > 0
    assert abs(sum(float(r[0]) for k, r in rows.items() if k != "total") - wall) < 0.05


def test_a_rendered_report_is_remembered_only_for_what_it_was_rendered_from(tmp_path: Path) -> None:
    """A re-scan with an unchanged result writes the report it rendered before; a new CODEOWNERS, a
    suppression or a damaged memo renders it again, the same as a scan without cache."""
    shop = shutil.copytree(FIXTURES / "shop", tmp_path / "shop")
    args = ("scan", str(shop), "--format", "json", "--jobs", "1")
    first = run_cli(*args)[1]
    memo = next((shop / ".audit_cache").glob("text-report-json.memo"))
    assert run_cli(*args)[1] == first
    owners = shop / ".github" / "CODEOWNERS"
    owners.write_text(owners.read_text() + "* @shop/platform\n")  # the last matching rule wins
    owned = run_cli(*args)[1]
    assert owned != first and owned == run_cli(*args, "--no-cache")[1]
    assert "@shop/platform" in owned
    memo.write_bytes(memo.read_bytes().replace(b"@shop/platform", b"@shop/someone-else"))
    assert run_cli(*args)[1] == owned  # a memo whose text does not match its digest is not trusted
    source = next(p for p in shop.rglob("*.py") if "order_line_items" in p.read_text())
    lines = source.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "order_line_items" in line and "#" not in line)
    lines[at] += "  # audit: ignore[LR001] reason: kept for the export job"
    source.write_text("\n".join(lines) + "\n")
    assert run_cli(*args)[1] == run_cli(*args, "--no-cache")[1]
