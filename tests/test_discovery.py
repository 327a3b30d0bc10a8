"""Which files a scan reads: git's tracked files, .gitignore for the rest, `exclude`, and what is left out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, scan_json
from tests.test_changed import git

AUDIT_TOML = 'legacy = { "order_line_items" = "order_line_items_v2" }\n'
CONFIG_PY = 'ITEMS_SQL = "SELECT id FROM order_line_items WHERE order_id = %s"\n'


def lines(data: dict[str, Any]) -> list[str]:
    return sorted(f"{f['path']}:{f['line']} {f['rule']}" for f in data["findings"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A root .gitignore naming `config.py` and `settings_local.py` (no slash: every folder)."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    (root / ".gitignore").write_text("config.py\nsettings_local.py\n.audit_cache/\n", encoding="utf-8")
    (root / "pkg" / "config.py").write_text(CONFIG_PY, encoding="utf-8")
    (root / "pkg" / "settings_local.py").write_text(CONFIG_PY, encoding="utf-8")
    (root / "app.py").write_text(CONFIG_PY, encoding="utf-8")
    return root


def test_tracked_file_matched_by_root_gitignore_is_scanned(project: Path) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "add", "-f", "pkg/config.py")  # tracked although .gitignore names it
    data = scan_json(project)
    assert lines(data) == ["app.py:1 LR001", "pkg/config.py:1 LR001"]
    assert data["left_out"] == [{"path": "pkg/settings_local.py", "reason": "ignored"}]
    assert data["summary"]["left_out"] == {"ignored": 1}


def test_outside_git_gitignore_applies_to_every_file(project: Path) -> None:
    data = scan_json(project)
    assert lines(data) == ["app.py:1 LR001"]
    assert [e["path"] for e in data["left_out"]] == ["pkg/config.py", "pkg/settings_local.py"]


def test_exclude_applies_to_tracked_files(project: Path) -> None:
    (project / "audit.toml").write_text(AUDIT_TOML + 'exclude = ["pkg/"]\n', encoding="utf-8")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", ".")
    git(project, "add", "-f", "pkg/config.py")
    data = scan_json(project)
    assert lines(data) == ["app.py:1 LR001"]
    assert data["left_out"] == [
        {"path": "pkg/config.py", "reason": "excluded"},
        {"path": "pkg/settings_local.py", "reason": "ignored"},
    ]


def test_summary_counts_left_out_files_and_verbose_lists_them(project: Path) -> None:
    (project / "big.py").write_text(CONFIG_PY * 10, encoding="utf-8")
    (project / "blob.py").write_bytes(b"\x00\x01ITEMS = 'order_line_items'\x00")
    (project / "audit.toml").write_text(AUDIT_TOML + "max_file_bytes = 200\n", encoding="utf-8")
    code, out, _ = run_cli("scan", str(project), "--no-cache", "--no-frames", "-j", "1")
    assert code == 1
    assert "Left out: 2 ignored, 1 too large, 1 binary (--verbose or `audit files` lists them)" in out
    code, out, _ = run_cli("scan", str(project), "--no-cache", "--no-frames", "-j", "1", "--verbose")
    listed = [line.split() for line in out.splitlines() if line.startswith("  ") and len(line.split()) == 2]
    assert listed == [
        ["big.py", "too-large"],
        ["blob.py", "binary"],
        ["pkg/config.py", "ignored"],
        ["pkg/settings_local.py", "ignored"],
    ]
    code, out, _ = run_cli("files", str(project))
    assert code == 0
    assert out.splitlines() == [
        "1 file(s) scanned, 2 other file(s) read for their mentions, 4 left out; files from the "
        "directory tree (.gitignore honoured)",
        "mentions    .gitignore",  # every file grep reads is listed: a list of paths, never code
        "scanned     app.py",
        "mentions    audit.toml",  # the auditor's own settings: their mentions are not references
        "too-large   big.py",
        "binary      blob.py",
        "ignored     pkg/config.py",
        "ignored     pkg/settings_local.py",
    ]


def _scan_in_subprocess(root: Path) -> subprocess.CompletedProcess[bytes]:
    command = "from auditor.cli.main import entry; entry()"
    args = ["scan", str(root), "--format", "json", "--no-cache", "-j", "1"]
    return subprocess.run(
        [sys.executable, "-c", command, *args], capture_output=True, timeout=120, check=False
    )


@pytest.mark.parametrize("in_git", [False, True], ids=["walk", "git"])
def test_fifo_named_gitignore_does_not_hang_the_scan(project: Path, in_git: bool) -> None:
    if in_git:
        git(project, "init", "-q", "-b", "main")
        git(project, "add", ".")
    os.mkfifo(project / "pkg" / ".gitignore")
    os.mkfifo(project / "pipe.sql")  # a FIFO among the scanned names: never opened
    done = _scan_in_subprocess(project)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert "app.py:1 LR001" in lines(data)
    assert {"path": "pipe.sql", "reason": "not-a-file"} in data["left_out"]


@pytest.mark.parametrize("in_git", [False, True], ids=["walk", "git"])
def test_file_name_not_utf8_is_scanned_and_reported(tmp_path: Path, in_git: bool) -> None:
    root = tmp_path / "names"
    root.mkdir()
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    raw = os.path.join(os.fsencode(root), b"report_\xff.py")
    with open(raw, "wb") as handle:
        handle.write(CONFIG_PY.encode())
    with open(os.path.join(os.fsencode(root), b"q\xe9.sql"), "wb") as handle:
        handle.write(b"SELECT * FROM order_line_items;\n")
    if in_git:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", ".")
    done = _scan_in_subprocess(root)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout.decode("utf-8"))  # strict: stdout is valid UTF-8
    assert lines(data) == ["q\\xe9.sql:1 LR101", "report_\\xff.py:1 LR001"]
    assert sorted((d["path"], d["kind"]) for d in data["diagnostics"]) == [
        ("q\\xe9.sql", "file-name"),
        ("report_\\xff.py", "file-name"),
    ]


def _backdate(root: Path) -> None:
    """Everything in the tree as last changed a minute ago: old enough for a remembered walk to be trusted."""
    past = time.time() - 60
    for folder, dirs, names in os.walk(root):
        for name in (*dirs, *names):
            os.utime(os.path.join(folder, name), (past, past), follow_symlinks=False)
    os.utime(root, (past, past))


def test_a_remembered_walk_sees_every_change_to_the_tree(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-scan with a cache does not walk a tree whose directories and .gitignore files kept their status;
    a file added, an edited .gitignore and a folder that stops being a virtualenv are each seen, exactly as
    a scan without cache sees them."""
    from auditor.discover import files

    walks: list[str] = []
    real = files._walk

    def counting(full_dir: str, rel_dir: str, *rest: Any) -> Any:
        if not rel_dir:
            walks.append(full_dir)
        return real(full_dir, rel_dir, *rest)

    monkeypatch.setattr(files, "_walk", counting)
    (project / "env").mkdir()
    (project / "env" / "pyvenv.cfg").write_text("home = /usr\n", encoding="utf-8")
    (project / "env" / "vendored.py").write_text(CONFIG_PY, encoding="utf-8")

    def cached() -> tuple[list[str], bool]:
        """The findings of a scan with the cache, and whether it walked the tree."""
        expected = lines(scan_json(project))
        before = len(walks)
        code, out, err = run_cli("scan", str(project), "--format", "json", "--jobs", "1")
        assert code in (0, 1), err
        found = lines(json.loads(out))
        assert found == expected, "the cached walk differs from a fresh one"
        return found, len(walks) > before

    cached()  # creates the cache folder: the root's own status changes
    _backdate(project)
    assert cached() == (["app.py:1 LR001"], True)
    assert cached() == (["app.py:1 LR001"], False), "an unchanged tree was walked again"

    (project / "pkg" / "orders.py").write_text(CONFIG_PY, encoding="utf-8")  # a new file
    assert cached() == (["app.py:1 LR001", "pkg/orders.py:1 LR001"], True)
    _backdate(project)
    assert cached()[1] and not cached()[1]
    (project / ".gitignore").write_text("settings_local.py\n.audit_cache/\n", encoding="utf-8")  # in place
    assert cached() == (["app.py:1 LR001", "pkg/config.py:1 LR001", "pkg/orders.py:1 LR001"], True)
    _backdate(project)
    assert cached()[1] and not cached()[1]
    (project / "env" / "pyvenv.cfg").unlink()  # no longer a virtualenv: its files are the project's
    assert "env/vendored.py:1 LR001" in cached()[0]


def test_a_broken_symlink_mended_outside_the_tree_is_seen(project: Path, tmp_path: Path) -> None:
    """A walk that met a broken symlink is never reused: its target may appear outside the tree, which
    changes no status inside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "linked.py").symlink_to(outside / "queries.py")

    def cached() -> list[str]:
        code, out, err = run_cli("scan", str(project), "--format", "json", "--jobs", "1")
        assert code in (0, 1), err
        return lines(json.loads(out))

    assert cached() == ["app.py:1 LR001"]  # creates the cache folder
    _backdate(project)
    assert cached() == ["app.py:1 LR001"]  # a walk that could be remembered: nothing changes after it
    (outside / "queries.py").write_text(CONFIG_PY, encoding="utf-8")
    assert cached() == ["app.py:1 LR001", "linked.py:1 LR001"]


@pytest.mark.parametrize("in_git", [False, True])
def test_links_inside_the_tree_are_read_once_at_their_own_path(project: Path, in_git: bool) -> None:
    """A packaging folder that links `src/` (walked first: `packaging` sorts before `src`), a file linked
    under another name, a link to a folder that holds it, and a link into a folder .gitignore names:
    each file is read once, where it lies; the links are listed as left out; the ignored folder's file is
    read through its link (nothing else reads it)."""
    (project / "src" / "shop").mkdir(parents=True)
    (project / "src" / "shop" / "queries.py").write_text(CONFIG_PY, encoding="utf-8")
    (project / "packaging" / "shop").mkdir(parents=True)
    (project / "packaging" / "shop" / "src").symlink_to("../../src", target_is_directory=True)
    (project / "packaging" / "shop" / "loop").symlink_to("..", target_is_directory=True)
    (project / "alias.py").symlink_to("app.py")
    (project / "vendor").mkdir()
    (project / "vendor" / "report.py").write_text(CONFIG_PY, encoding="utf-8")
    (project / ".gitignore").write_text("config.py\nsettings_local.py\n.audit_cache/\nvendor/\n")
    (project / "reports").symlink_to("vendor", target_is_directory=True)
    if in_git:
        git(project, "init", "-q", "-b", "main")
        git(project, "add", ".")
    data = scan_json(project)
    assert lines(data) == ["app.py:1 LR001", "reports/report.py:1 LR001", "src/shop/queries.py:1 LR001"]
    linked = sorted(e["path"] for e in data["left_out"] if e["reason"] == "linked")
    assert linked == ["alias.py", "packaging/shop/src/"]
    assert [d["path"] for d in data["diagnostics"] if d["kind"] == "symlink-loop"] == ["packaging/shop/loop"]


def test_a_remembered_walk_of_another_shape_is_walked_again(project: Path) -> None:
    """A remembered walk that is not the shape the scan writes (a damaged or foreign cache whose digest
    still holds) is never trusted: the tree is walked again, the findings are those of a fresh scan."""
    from auditor.discover.cache import ScanCache

    def cached() -> list[str]:
        code, out, err = run_cli("scan", str(project), "--format", "json", "--jobs", "1")
        assert code in (0, 1), err
        return lines(json.loads(out))

    expected = cached()
    _backdate(project)
    cached()
    tampered = 0
    for index in (project / ".audit_cache").glob("facts-*.pickle"):
        cache = ScanCache(str(project / ".audit_cache"), index.name[len("facts-") : -len(".pickle")])
        if "walk" in cache.stages:
            root, (started, statuses, *_) = cache.stages["walk"]
            cache.stages["walk"] = (root, (started, statuses, ((1, 2),), (), (3,), ()))
            cache.used_stages, cache.dirty = set(cache.stages), True
            cache.save()
            tampered += 1
    assert tampered == 1
    assert cached() == expected


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM orders",  # a name
        "rows = Orders.query.all()",  # in another case
        "reorders = preorders_total",  # inside words only: no occurrence
        "orders_v2 and $orders and orders$",  # joined to other word characters
        "nothing here at all",
        "café = 'ORDERS'",  # not ASCII: the regex alone decides
        "ſession",  # a long s: `(?i)session` matches it, lower() does not give `s`
        "session.close()",  # ASCII, matched by a name written with a long s
        "ORDER_LINE_ITEMS.id",
        "orders, ORDERS_V.x orders_v2 (orders_v) orders",  # several, of two names, one inside the other
        "",
    ],
)
def test_the_quick_name_test_answers_as_the_regex_does(text: str) -> None:
    """`names_in` skips the regex for an ASCII text that holds no name even inside a word, and
    `name_spans` finds an ASCII text's occurrences by substring search: both must give the regex's answer
    on every text, ASCII or not, whatever the case."""
    from auditor.catalog.names import name_pattern, name_spans, names_in

    for names in (
        ["orders"],
        ["order_line_items", "Orders"],
        ["session"],
        ["ſession"],
        ["orders", "orders_v"],
    ):
        pattern = name_pattern(names)
        assert names_in(pattern, text) is (pattern.search(text) is not None), (names, text)
        assert name_spans(pattern, text) == [m.span() for m in pattern.finditer(text)], (names, text)


@pytest.mark.parametrize(
    "text",
    [
        b"SELECT * FROM orders",
        b"orders_id = 1; $orders; orders$; x.orders_v2",
        b"from ORDERS join Order_Line_Items",
        b"orders_archive orders",
        b"caf\xc3\xa9 orders\xc3\xa9",  # a non-ASCII byte is no word character to `re` on bytes
        b"order_line_items_v2 order_line_itemsorders",
        b"",
    ],
)
def test_the_name_prefilter_answers_as_its_exact_pattern_does(text: bytes) -> None:
    from auditor.discover.prefilter import NamePrefilter

    for names in (["orders"], ["order_line_items", "Orders"], ["orders", "orders_archive"]):
        prefilter = NamePrefilter(names)
        found = {m.group(0).lower().decode() for m in prefilter.exact.finditer(text)}
        assert prefilter.matches(text, text.lower()) is bool(found), (names, text)
        assert prefilter.found_in(text.lower()) == found, (names, text)


@pytest.mark.parametrize(
    ("source", "builds"),
    [
        ('cur.execute(f"SELECT * FROM {table}")', True),
        ('sql = "DELETE FROM %s WHERE id = %%s" % table', True),
        ('cur.execute("SELECT count(*) FROM " + table)', True),
        ('q = f"{head} FROM {table}"', True),  # starts with a hole
        ('q = "count(*) FROM %s" % t', True),  # a function call first: a piece of a select list
        ('sql = """\n    SELECT id\n    FROM {table}\n"""', True),  # a hole on a line of a longer string
        ('sql = ("SELECT id, "\n       "name FROM %s" % t)', True),  # continues the line before
        ('sql = ("SELECT id, "  # the key\n       "name FROM %s" % t)', True),  # past a comment
        ('sql = "SELECT id, " "name FROM %s" % t', True),  # two parts on one line
        ("q = \"SELECT 'x' label FROM %s\" % t", True),  # quotes inside the SQL
        ('x = "it\'s" + f"name from {t}"', True),  # two strings before it on the line: not read there
        ('log.debug("reading %s from %s", name, path)', False),
        ("raise ValueError(\"failed to locate a column from table '%s'\" % name)", False),
        ("# the node returned from {% cycle a b %} is the same", False),
        ('log.info(\n    "broken pipe from %s", address\n)', False),  # first on its line after `(`
        ("raise TypeError(\"class '%s' does not inherit from '%s'\" % (a, b))", False),  # quotes inside
        ("q = f'SELECT * FROM \"{schema}\".orders'", True),  # a hole quoted as an identifier
        ("raise KeyError(f\"Table '{key}' is not defined\")", False),  # quoted as an SQL string: a value
        ('q = "SELECT EXTRACT(day FROM %s)" % column', False),  # FROM inside EXTRACT(...)
        ('yield "from %s import models" % module', False),  # Python's import, as text
        ('client.table(name).select("*")', True),  # a client call with a non-literal name
        ('client.table("orders").select("*")', False),
    ],
)
def test_the_dynamic_sql_prefilter_reads_prose_only_where_it_is_sure(source: str, builds: bool) -> None:
    """A table keyword before a formatting hole makes a file one that builds SQL, unless its own line shows
    that it is in a comment or in a one-line string that starts with a word no SQL starts with (a log
    message): then it is prose. Anything the line cannot tell is kept."""
    from auditor.discover.prefilter import builds_dynamic_sql

    assert builds_dynamic_sql(source.lower().encode()) is builds
