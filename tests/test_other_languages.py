"""Code in languages the scan does not analyse (a Supabase web client, a shell script around psql): each
occurrence of a legacy name there is an LR006 finding (LR004 for the table of a supabase-js `.from()`
call), so such code never lets a view look unused."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.conftest import FIXTURES, run_cli, scan_json, write_tree
from tests.test_changed import git

CASE = FIXTURES / "cases" / "other_languages"
LEGACY = ("--legacy", "orders=orders_v2")
CLIENT = 'const { data } = await supabase.from("orders").select("*");\n'


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / CASE.name
    shutil.copytree(CASE, root)
    return root


def test_other_languages_block_a_view_the_python_code_no_longer_uses(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    data = scan_json(root)
    assert data["summary"]["ready_to_drop"] == []
    statuses = {o["legacy"]: (o["status"], o["reasons"]) for o in data["plan"]["objects"]}
    assert statuses == {  # and web/src/useTable.ts reads a table its caller names (LR005)
        "public.customer_addresses": ("blocked", ["references", "unresolved table names"]),
        "public.order_line_items": ("blocked", ["references", "unresolved table names"]),
    }
    # a minified line is shown around the occurrence, not whole
    (bundle,) = [f for f in data["findings"] if f["path"] == "web/dist/app.min.js"]
    assert 'c.from("customer_addresses")' in bundle["snippet"] and len(bundle["snippet"]) < 260
    (client,) = [f for f in data["findings"] if f["path"] == "web/src/lineItems.ts"]
    assert client["rule"] == "LR004" and client["suggestion"]["replacement"] == "order_line_items_v2"
    held = {f["line"]: f for f in data["findings"] if f["path"] == "web/src/api.ts"}
    assert sorted(held) == [10, 17, 18, 20] and all(f["rule"] == "LR006" for f in held.values())
    assert "suppress it with a reason" in held[10]["message"]  # `// audit: ignore[LR006] reason`
    # a notebook has no comment the scan reads: a baseline or an exclusion settles its occurrences
    notebook = [f for f in data["findings"] if f["path"] == "analysis/baskets.ipynb"]
    assert notebook and all("exclude the file" in f["message"] for f in notebook)
    not_references = {
        (m["line"], m["reason"]) for m in data["non_references"] if m["path"] == "web/src/api.ts"
    }
    assert (7, "a URL or file path") in not_references and (25, "prose text, not SQL") in not_references
    assert (22, "a Supabase Storage bucket (`storage.from(...)`), not a table") in not_references
    # Hasura's metadata tracks a table: the value is unclassified, the comment above it is not a reference
    hasura = "hasura/metadata/databases/default/tables/public_customer_addresses.yaml"
    (tracked,) = [f for f in data["findings"] if f["path"] == hasura]
    assert (tracked["rule"], tracked["line"]) == ("LR006", 3) and "YAML file" in tracked["message"]
    assert [(m["line"], m["reason"]) for m in data["non_references"] if m["path"] == hasura] == [
        (1, "a YAML comment")
    ]
    # styles and translated messages are never code; an example of a file is read as that file
    never = {(m["path"], m["reason"].split(" (")[0]) for m in data["non_references"]}
    assert {("web/src/styles.css", "a stylesheet"), ("locale/fr.po", "a translation catalog")} <= never
    made_here = {(f["path"], f["line"], f["rule"]) for f in data["findings"]}
    assert ("config/.env.example", 2, "LR006") in made_here
    # JSON settings (a Debezium connector): the table it streams is unclassified, its description is prose
    cdc = [(f["line"], f["rule"]) for f in data["findings"] if f["path"] == "connect/orders-cdc.json"]
    assert cdc == [(5, "LR006")]
    assert ("connect/orders-cdc.json", 7) in {(m["path"], m["line"]) for m in data["non_references"]}
    # a script without a suffix is read in the language of its #! line
    script = [(f["line"], f["rule"]) for f in data["findings"] if f["path"] == "bin/backfill"]
    assert script == [(7, "LR006")] and "a Python script file" not in str(data["findings"])
    assert ("bin/backfill", 2) in {(m["path"], m["line"]) for m in data["non_references"]}  # its docstring
    # an OpenAPI document names the HTTP API's fields, not the tables behind it
    api = [(m["line"], m["reason"][:22]) for m in data["non_references"] if m["path"] == "web/openapi.yaml"]
    assert api == [(14, "an OpenAPI document (a")]
    # dbt's sources: the table is unclassified, its description is prose
    sources = {(f["line"], f["rule"]) for f in data["findings"] if f["path"] == "dbt/models/sources.yml"}
    assert sources == {(7, "LR006")}
    assert [
        (m["line"], m["reason"]) for m in data["non_references"] if m["path"] == "dbt/models/sources.yml"
    ] == [(8, "prose text, not SQL")]
    # a page's scripts are JavaScript; its text, like documentation, is read by people
    page = {(f["line"], f["rule"]) for f in data["findings"] if f["path"] == "web/public/status.html"}
    assert page == {(10, "LR004"), (14, "LR004")}
    read_by_people = {(m["path"], m["line"]) for m in data["non_references"]}
    assert {
        ("web/public/status.html", 5),
        ("web/public/status.html", 9),
        ("docs/schema.md", 3),
    } <= read_by_people
    # configuration: a job's table is unclassified; a comment and the auditor's own settings are not
    made = {(f["path"], f["line"]) for f in data["findings"] if f["path"] in ("Makefile", "config/sync.ini")}
    assert made == {("Makefile", 6), ("config/sync.ini", 3)}
    own = "the auditor's own configuration (a legacy name it is told to look for)"
    assert {
        ("Makefile", 3, own),
        ("audit.toml", 1, own),
        ("config/sync.ini", 1, "a comment in a configuration file"),
        ("config/sync.ini", 4, "a URL or file path"),  # a value whose text is no table name
    } <= {(m["path"], m["line"], m["reason"]) for m in data["non_references"]}
    # excluding the code nobody analyses is the user's call, and then nothing blocks either view
    excluded = 'exclude = ["web/", "scripts/", "reports/", "analysis/", "server/", "hasura/", "dbt/",'
    excluded += ' "config/", "Makefile", "bin/", "connect/", "queries/", "data/"]\n'
    (root / "audit.toml").write_text((root / "audit.toml").read_text() + excluded, encoding="utf-8")
    data = scan_json(root)
    assert data["findings"] == []
    assert data["summary"]["ready_to_drop"] == ["public.customer_addresses", "public.order_line_items"]


def test_explain_says_why_an_occurrence_in_another_language_has_its_verdict(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    said = {}
    for line in (24, 22, 17, 4):
        target = (
            f"{root / 'scripts' / 'backfill.sh'}:{line}" if line == 4 else f"{root / 'web/src/api.ts'}:{line}"
        )
        code, out, err = run_cli("explain", target, "--root", str(root), "-j", "1")
        assert code == 0, err
        said[line] = out
    assert "not a reference: a JavaScript identifier" in said[24]
    assert "not a reference: a Supabase Storage bucket" in said[22]
    assert (
        "LR006 unclassified: a name called or embedded in a string (a PostgREST embedded resource)"
        in said[17]
    )
    assert "LR006 unclassified: it is in a shell file, which the scan does not analyse" in said[4]


def test_a_cached_scan_sees_a_legacy_name_added_to_a_file_that_named_none(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "app", {"app.py": "x = 1\n", "web/api.ts": "export const x = 1;\n"})
    old = 1_600_000_000
    os.utime(root / "web" / "api.ts", (old, old))  # not racily clean: the next scan trusts its status
    first = run_cli("scan", str(root), "--format", "json", "-j", "1", *LEGACY)
    assert first[0] == 0, first[2]
    (root / "web" / "api.ts").write_text(CLIENT, encoding="utf-8")
    os.utime(root / "web" / "api.ts", (old + 10, old + 10))
    code, out, err = run_cli("scan", str(root), "--format", "json", "-j", "1", *LEGACY)
    assert code == 1 and '"web/api.ts"' in out and '"LR004"' in out, err
    again = run_cli("scan", str(root), "--format", "json", "-j", "1", *LEGACY)
    assert again[:2] == (code, out)


def test_a_too_large_file_in_another_language_holds_only_what_it_names(tmp_path: Path) -> None:
    padding = "// generated\n" * 300
    files = {
        "app.py": "x = 1\n",
        "audit.toml": "max_file_bytes = 2000\n",
        "web/big.js": padding + CLIENT,
        "web/other.js": padding,
        # documentation too large to read holds nothing; plain text may be SQL a script runs (psql -f)
        "docs/big.md": "Prose.\n" * 300 + "The orders table.\n",
        "sql/big.txt": "-- generated\n" * 300 + "SELECT * FROM orders;\n",
    }
    root = write_tree(tmp_path / "app", files)
    code, out, _ = run_cli("scan", str(root), "--format", "json", "-j", "1", "--no-cache", *LEGACY)
    data = json.loads(out)
    assert code == 1, "code nobody read names the legacy object: the scan must not pass"
    assert [(d["path"], d["kind"]) for d in data["diagnostics"]] == [
        ("sql/big.txt", "too-large"),
        ("web/big.js", "too-large"),
    ]
    assert data["plan"]["objects"][0]["unanalysed"] == ["sql/big.txt", "web/big.js"]
    assert data["summary"]["ready_to_drop"] == []


def test_tracked_code_in_another_language_is_read_in_a_git_work_tree(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "app", {"app.py": "x = 1\n", ".gitignore": "generated/\n", "generated/client.ts": CLIENT}
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-f", ".")  # tracked although .gitignore names its folder
    data = scan_json(root, *LEGACY)
    assert [(f["path"], f["line"], f["column"], f["rule"]) for f in data["findings"]] == [
        ("generated/client.ts", 1, 39, "LR004")
    ]


def test_files_lists_code_in_other_languages_and_what_is_left_out(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    code, out, err = run_cli("files", str(root), "--format", "json")
    assert code == 0, err
    status = {entry["path"]: entry["status"] for entry in json.loads(out)["files"]}
    assert status["app/orders.py"] == "scanned"
    assert status["web/src/lineItems.ts"] == status["scripts/backfill.sh"] == "mentions"
    assert status["media/intro.ts"] == "binary" and status["docs/schema.md"] == "mentions"
    assert scan_json(root)["summary"]["left_out"] == {"binary": 1}


def test_a_broken_notebook_keeps_its_occurrences_unclassified(tmp_path: Path) -> None:
    # cut short, and a carriage return that Python reads as a new line inside the cell's code
    cell = '{"cells": [{"cell_type": "code", '
    cell += '"source": ["rows = db.all(\\"SELECT * FROM orders\\")\\r", "p\\rint(1)'
    files = {"app.py": "x = 1\n", "cut.ipynb": cell, "text.ipynb": "orders\n"}
    root = write_tree(tmp_path / "app", files)
    data = scan_json(root, *LEGACY)
    assert sorted((f["path"], f["rule"]) for f in data["findings"]) == [
        ("cut.ipynb", "LR006"),
        ("text.ipynb", "LR006"),
    ]
    assert data["summary"]["ready_to_drop"] == []


def test_only_a_vue_component_reads_its_bound_attributes_as_javascript(tmp_path: Path) -> None:
    files = {
        "app.py": "x = 1\n",
        "repo.ts": 'class Repo {\n  #table = "orders";\n}\n',  # a private field holds a string
        "List.vue": '<Rows :rows="orders" :table="\'orders\'" />\n',  # a variable; a string in JavaScript
    }
    data = scan_json(write_tree(tmp_path / "app", files), *LEGACY)
    assert sorted((f["path"], f["line"], f["column"], f["rule"]) for f in data["findings"]) == [
        ("List.vue", 1, 31, "LR006"),
        ("repo.ts", 2, 13, "LR006"),
    ]


def test_the_auditors_own_reports_and_baseline_in_the_tree_are_not_references(tmp_path: Path) -> None:
    """A baseline and reports written into the scanned tree name every legacy view: they are the auditor's
    own output, never references (else each scan would block on the last one's report)."""
    root = _copy(tmp_path)
    before = scan_json(root)
    for form, name in (("json", "audit-report.json"), ("html", "audit-report.html"), ("gitlab", "gl.json")):
        code, _, err = run_cli("scan", str(root), "--format", form, "-o", str(root / name), "-j", "1")
        assert code == 1, err
    code, _, err = run_cli("baseline", str(root))
    assert code == 0, err
    after = scan_json(root)
    assert after["findings"] == before["findings"]
    own = {m["path"] for m in after["non_references"] if m["reason"].startswith("the auditor's own output")}
    assert own == {"audit-report.json", "audit-report.html", "gl.json", ".audit-baseline.json"}


def test_every_text_file_is_listed_whatever_its_kind(tmp_path: Path) -> None:
    # what `grep -rniwI orders` reads, the scan reads: files of kinds it knows nothing of hold LR006, binary
    # content (by its suffix, or by NUL bytes under a suffix of no known kind) is what grep -I skips
    files = {
        "app.py": "x = 1\n",
        "seed/tables.csv": "table,rows\norders,120\n",
        "tools/report.pl": 'my $n = $dbh->selectrow_array("SELECT count(*) FROM orders");\n',
        "poetry.lock": '[[package]]\nname = "orders"\n',
        ".gitignore": "exports/orders/\n",
        "queries/totals.txt": "Totals, for psql -f.\n\nSELECT sum(total)\n  FROM orders;\n",
        "docs/NOTES.txt": "The orders table moves to orders_v2; select from it after the release.\n",
        # reStructuredText under .txt (Django's docs): its SQL is an indented example in a literal block
        "docs/guide.txt": "Count them::\n\n    SELECT count(*) FROM orders;\n\nSELECT FROM orders is slow.\n",
        # `${` opens an interpolation: the name before it is a whole word, as for grep -w (`orders$` is not)
        "web/Badge.tsx": "const label = `Orders${count}`;\nconst orders$ = stream();\n",
    }
    root = write_tree(tmp_path / "app", files)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0orders\0")
    (root / "blob.bin2").write_bytes(b"\0\0\0orders\0")
    data = scan_json(root, *LEGACY)
    assert sorted((f["path"], f["line"], f["rule"]) for f in data["findings"]) == [
        ("queries/totals.txt", 4, "LR006"),
        ("seed/tables.csv", 2, "LR006"),
        ("tools/report.pl", 1, "LR006"),
        ("web/Badge.tsx", 1, "LR006"),  # a template literal that may name the table
    ]
    reasons = {(m["path"], m["line"]): m["reason"] for m in data["non_references"]}
    assert reasons[("poetry.lock", 2)].startswith("a lock file")
    # `orders$`: a JavaScript name, not the table's; grep -w still sees the word, so it has a verdict
    assert reasons[("web/Badge.tsx", 2)].startswith("a JavaScript identifier")
    assert reasons[(".gitignore", 1)].startswith("a list of path patterns")
    assert reasons[("docs/NOTES.txt", 1)].startswith("documentation (plain text)")
    assert reasons[("docs/guide.txt", 3)] == reasons[("docs/guide.txt", 5)] == reasons[("docs/NOTES.txt", 1)]
    assert data["summary"]["left_out"] == {"binary": 1}  # blob.bin2: listed, its head is binary
    seed = next(f for f in data["findings"] if f["path"] == "seed/tables.csv")
    assert "it is in a .csv file" in seed["message"]
    # in a git work tree, the tracked files of every kind are read the same way
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-f", ".")
    tracked = scan_json(root, *LEGACY)
    assert [(f["path"], f["line"]) for f in tracked["findings"]] == [
        (f["path"], f["line"]) for f in data["findings"]
    ]


def test_a_web_clients_table_call_that_is_no_string_is_unresolved(tmp_path: Path) -> None:
    files = {
        "app.py": "x = 1\n",
        "web/hook.ts": "export const rows = (t: string) => supabase.from(t).select();\n",
        "web/report.ts": "const q = db.selectFrom(`${schema}.totals`).selectAll();\n",
        "web/ok.ts": "const a = Array.from(s);\nconst b = supabase.from('orders_v2').select();\n",
        "web/typed.ts": "const r = supabase.from<Row>(name);\n",  # a TypeScript type argument first
    }
    root = write_tree(tmp_path / "app", files)
    data = scan_json(root, *LEGACY)
    assert [(f["path"], f["line"], f["column"], f["rule"]) for f in data["findings"]] == [
        ("web/hook.ts", 1, 50, "LR005"),
        ("web/report.ts", 1, 25, "LR005"),
        ("web/typed.ts", 1, 30, "LR005"),
    ]
    assert data["summary"]["ready_to_drop"] == []
    # looked for only where LR005 is (the default); a person who checked it says so in the file
    assert scan_json(root, *LEGACY, "--unresolved", "legacy-files")["summary"]["ready_to_drop"] == [
        "public.orders"
    ]
    checked = " // audit: ignore[LR005] the hook only ever gets the names of the new tables\n"
    (root / "web" / "hook.ts").write_text(files["web/hook.ts"].rstrip("\n") + checked, encoding="utf-8")
    (root / "web" / "report.ts").unlink()
    (root / "web" / "typed.ts").unlink()
    assert scan_json(root, *LEGACY)["summary"]["ready_to_drop"] == ["public.orders"]
