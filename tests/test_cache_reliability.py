"""The scan cache is correct, not just fast; one file never takes the scan down (issue 15).

Each test reproduces one reported defect on a small codebase of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor import scan as scan_module
from auditor.catalog.config import Config
from auditor.core.model import Diagnostic, Finding, ScanResult
from auditor.scan import ScanOptions, scan
from tests.conftest import run_cli, write_tree

LEGACY = [("orders", "orders_v2")]
QUERY = 'def load(db):\n    return db.execute("SELECT id FROM orders WHERE id = 1")\n'
OTHER = 'def other(db):\n    return db.execute("SELECT id FROM customers")\n'


def _project(root: Path, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {"app/queries.py": QUERY, "app/other.py": OTHER}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _scan(
    root: Path, progress: Callable[[str, int, int], None] | None = None, **options: object
) -> ScanResult:
    return scan(ScanOptions(str(root), Config(), LEGACY, jobs=1, **options), progress)  # type: ignore[arg-type]


def _legacy_lines(result: ScanResult) -> list[tuple[str, int]]:
    return sorted((f.path, f.span.line) for f in result.findings if f.legacy is not None)


def _once(action: Callable[[], None]) -> Callable[[str, int, int], None]:
    """A progress callback that acts on the first call: the moment the scan starts parsing."""
    done: list[bool] = []

    def progress(stage: str, current: int, total: int) -> None:
        if not done:
            done.append(True)
            action()

    return progress


def test_file_changed_during_scan_is_cached_under_the_bytes_analysed(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    target = root / "app/queries.py"
    # the scan reads the original text; the file then changes before it is parsed
    _scan(root, _once(lambda: target.write_text(OTHER.replace("other", "load"), encoding="utf-8")))
    target.write_text(QUERY, encoding="utf-8")  # back to the text that names the legacy table
    assert _legacy_lines(_scan(root)) == [("app/queries.py", 2)]


def test_io_failure_is_never_cached(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    target = root / "app/queries.py"
    first = _scan(root, _once(target.unlink))
    target.write_text(QUERY, encoding="utf-8")  # restored
    again = _scan(root)
    assert first.findings == () or _legacy_lines(first) == []
    assert _legacy_lines(again) == [("app/queries.py", 2)]
    assert not [d for d in again.diagnostics if d.path == "app/queries.py"]


def _cache_files(root: Path) -> list[Path]:
    return [p for p in (root / ".audit_cache").rglob("facts-*") if p.is_file()]


def test_cache_entry_with_wrong_values_is_rebuilt(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    assert _legacy_lines(_scan(root)) == [("app/queries.py", 2)]
    for path in _cache_files(root):
        data = path.read_bytes()
        # same length, so the pickle stays well formed: it now says the query reads another table
        path.write_bytes(data.replace(b"FROM orders", b"FROM ordxrs"))
    assert _legacy_lines(_scan(root)) == [("app/queries.py", 2)]


def test_cache_dir_among_sources_never_hides_them(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", {"db/queries.py": QUERY, "app/other.py": OTHER})
    expected = _legacy_lines(_scan(root, cache_dir=None))
    assert _legacy_lines(_scan(root, cache_dir="db")) == expected
    assert not (root / "db/.gitignore").exists()
    assert _legacy_lines(_scan(root, cache_dir="db")) == expected
    assert _legacy_lines(_scan(root, cache_dir=None)) == expected
    assert _legacy_lines(_scan(root, cache_dir=".")) == expected
    assert not (root / ".gitignore").exists()
    code, out, err = run_cli("scan", str(root), "--legacy", "orders=orders_v2", "--format", "json", "-j", "1")
    assert code == 1, err
    assert [f["path"] for f in json.loads(out)["findings"] if f["legacy"]] == ["db/queries.py"]


def _audit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from auditor.cli.main import entry; entry()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_fifo_at_the_cache_path_never_hangs_the_scan(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _scan(root)
    for path in _cache_files(root):
        path.unlink()
        os.mkfifo(path)
    os.mkfifo(root / "fifo-cache")
    for cache_dir in (".audit_cache", "fifo-cache"):
        done = _audit("scan", str(root), "--legacy", "orders=orders_v2", "--cache-dir", cache_dir, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "app/queries.py" in done.stdout


def test_temporary_files_of_a_killed_scan_are_removed(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    _scan(root)
    directory = _cache_files(root)[0].parent
    stale = directory / ".facts-left-by-kill-9"
    stale.write_bytes(b"x" * 1000)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    (root / "app/new.py").write_text(OTHER, encoding="utf-8")  # something to save
    _scan(root)
    assert not stale.exists()


@pytest.mark.parametrize(
    "text",
    [
        "X = " + "g(" * 3000 + "1" + ")" * 3000 + "\n",
        "X = " + " + ".join(["a"] * 10000) + "\n",
    ],
    ids=["calls-3000-deep", "plus-chain-10000"],
)
def test_deep_nesting_is_a_diagnostic_and_the_scan_goes_on(tmp_path: Path, text: str) -> None:
    root = _project(tmp_path / "p", {"app/queries.py": QUERY, "app/deep.py": "import orders\n" + text})
    done = _audit("scan", str(root), "--legacy", "orders=orders_v2", "--format", "json", "--no-cache")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["findings"] if f["legacy"]] == ["app/queries.py"]
    assert [d["path"] for d in report["diagnostics"]] == ["app/deep.py"]


def _crash_on_boom(task: scan_module._Task) -> scan_module._Outcome:
    if task.path.endswith("boom.py"):
        os._exit(3)  # what a segfault in a native parser does to a worker
    return scan_module._analyse(task)


def test_a_crashed_worker_costs_only_its_file(tmp_path: Path) -> None:
    files = {f"app/m{i}.py": QUERY for i in range(30)} | {"app/boom.py": QUERY}
    root = _project(tmp_path / "p", files)
    tasks = [scan_module._Task(name, str(root / name)) for name in sorted(files)]
    packs = scan_module.load_rule_packs((), ())
    from auditor.discover.cache import ScanCache
    from auditor.discover.prefilter import ModelClassPrefilter, NamePrefilter

    filters = scan_module._Filters(NamePrefilter(["orders"]), ModelClassPrefilter(["orders"]), True)
    pattern = scan_module.name_pattern(["orders"])
    extractor = scan_module._Extractor(
        2, (packs, pattern, 1 << 20, filters, ScanCache(None, "k")), work=_crash_on_boom
    )
    try:
        outcomes = extractor.run(tasks)
    finally:
        extractor.close()
    by_path = {o.path: o for o in outcomes}
    assert isinstance(by_path["app/boom.py"].result, Diagnostic)
    assert by_path["app/boom.py"].result.kind == "analysis-crash"
    assert all(by_path[t.path].record is not None for t in tasks if not t.path.endswith("boom.py"))


def test_jobs_is_capped_at_files_and_cores(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    assert scan_module.worker_count(10000, 5000) == cores
    assert scan_module.worker_count(10000, 1) == 1
    root = _project(tmp_path / "p")
    code, out, err = run_cli(
        "scan", str(root), "--legacy", "orders=orders_v2", "--format", "json", "-j", "10000"
    )
    assert code == 1, err
    assert [f["path"] for f in json.loads(out)["findings"] if f["legacy"]] == ["app/queries.py"]


def test_a_two_megabyte_one_line_list_is_linear(tmp_path: Path) -> None:
    items = ", ".join(repr(f"value_{i}_é") for i in range(120_000))
    root = _project(tmp_path / "p", {"app/queries.py": QUERY, "app/big.py": f"X = [{items}]\n"})
    assert (root / "app/big.py").stat().st_size > 2_000_000
    started = time.process_time()
    result = _scan(root, cache_dir=None)
    assert _legacy_lines(result) == [("app/queries.py", 2)]
    assert time.process_time() - started < 30  # was 51 s (and 4.3 GB): quadratic position searches


def test_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    old = time.time() - 60  # not racily clean: written well before the scan that records it
    for path in root.rglob("*.py"):
        os.utime(path, (old, old))
    first = _scan(root)
    reads: list[str] = []
    real = scan_module.read_source

    def counting(full_path: str, rel_path: str, max_bytes: int) -> object:
        reads.append(rel_path)
        return real(full_path, rel_path, max_bytes)

    scan_module.read_source = counting  # type: ignore[assignment]
    try:
        again = _scan(root)
    finally:
        scan_module.read_source = real
    assert reads == []
    assert again.findings == first.findings


@pytest.mark.parametrize(
    ("fresh", "read_again"), [(".py", ["app/other.py", "app/queries.py"]), (".js", ["web/load.js"])]
)
def test_a_racily_clean_file_is_read_again_once(tmp_path: Path, fresh: str, read_again: list[str]) -> None:
    # written just before the first scan (a fresh checkout): its status may not show a later edit, so the
    # next scan reads it again; that scan records it anew, and the scans after it no longer read it (a
    # Python module and a file in another language alike)
    client = "export const load = (db) => db.from('orders').select('id')\n"
    root = _project(tmp_path / "p", {"app/queries.py": QUERY, "app/other.py": OTHER, "web/load.js": client})
    recent = time.time() - 1
    for path in root.rglob("*.*"):  # the Python modules or the client code fresh, the others old
        stamp = recent if path.suffix == fresh else recent - 60
        os.utime(path, (stamp, stamp))
    first = _scan(root)
    time.sleep(1.5)  # the second scan starts over two seconds after the files were written
    reads: list[str] = []
    real = scan_module.read_source

    def counting(full_path: str, rel_path: str, max_bytes: int) -> object:
        reads.append(rel_path)
        return real(full_path, rel_path, max_bytes)

    from auditor.discover import languages

    scan_module.read_source = languages.read_source = counting  # type: ignore[assignment]
    try:
        second = _scan(root)
        read_by_second = sorted(reads)
        reads.clear()
        third = _scan(root)
    finally:
        scan_module.read_source = languages.read_source = real
    assert read_by_second == read_again
    assert reads == []
    assert first.findings == second.findings == third.findings


def _fixture_scan(root: Path, cache_dir: str | None) -> ScanResult:
    from auditor.catalog.config import load_config

    return scan(ScanOptions(str(root), load_config(str(root), None), jobs=1, cache_dir=cache_dir))


def test_every_cached_fact_loads_back(tmp_path: Path) -> None:
    """What a scan caches, the cache's restricted unpickler reads back: no value class is left out of it."""
    from auditor.core.pickles import safe_loads
    from auditor.discover import cache as cache_module

    root = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "table_name_helpers"
    cache_dir = tmp_path / "cache"
    _fixture_scan(root, str(cache_dir))
    loaded = calls = 0
    for path in cache_dir.glob("facts-*.pickle"):
        cache = cache_module.ScanCache(str(cache_dir), path.name[len("facts-") : -len(".pickle")])
        for key, (file, _) in list(cache.entries.items()):
            facts = cache.get(key, file)
            assert facts is not None, f"{file}: its cached facts do not load"
            loaded += 1
            packed = vars(facts).get("_packed_calls")
            if packed is not None:  # the call records stay packed until asked for: they load too
                calls += len(safe_loads(packed))
    assert loaded > 5 and calls > 5


def test_facts_that_do_not_load_are_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache entry the unpickler refuses never loses a file's findings: the file is parsed again."""
    from auditor.core import pickles

    root = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "orm_mappings"
    expected = _fixture_scan(root, None).findings
    refused = {c for c in pickles.ALLOWED if c[1] == "Lit"}
    monkeypatch.setattr(pickles, "ALLOWED", pickles.ALLOWED - refused)
    assert _fixture_scan(root, str(tmp_path / "cache")).findings == expected
    assert _fixture_scan(root, str(tmp_path / "cache")).findings == expected  # and from that cache


def test_call_records_that_do_not_load_fail_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module's call records stay packed in the cache until a helper needs them. Should they not load,
    every helper the module calls is taken to get unknown values: each helper's own LR005 stands (the
    view stays blocked), and every line naming the view that the scan without cache reports is reported."""
    from auditor.core import pickles

    root = tmp_path / "app"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "table_name_helpers", root)
    expected = _fixture_scan(root, None).findings
    assert _fixture_scan(root, str(tmp_path / "cache")).findings == expected
    # a new module naming the view (in a comment): the scan resolves again, from the others' cached facts
    (root / "app" / "later.py").write_text("# order_line_items moved to order_line_items_v2\nVERSION = 2\n")
    monkeypatch.setattr(pickles, "ALLOWED", pickles.ALLOWED - {("auditor.python.extract", "CallSite")})
    degraded = _fixture_scan(root, str(tmp_path / "cache")).findings
    assert degraded != expected  # the packed records were really read from the cache, and refused

    def named(findings: tuple[Finding, ...]) -> set[tuple[str, int]]:  # lines a grep of the name sees
        text = {f.path: (root / f.path).read_text().splitlines() for f in findings}
        return {(f.path, f.span.line) for f in findings if "order_line" in text[f.path][f.span.line - 1]}

    assert named(expected) <= named(degraded)
    lr005 = {(f.path, f.span.line) for f in expected if f.rule == "LR005"}
    assert lr005 < {(f.path, f.span.line) for f in degraded if f.rule == "LR005"}


def test_facts_that_do_not_load_are_parsed_again_by_a_running_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' copy of the cache is older than the main process's: when a cached entry does not
    load, the worker asked for the facts parses the file whatever its copy holds (no file goes missing)."""
    from auditor.catalog.config import load_config
    from auditor.core import pickles

    query = 'def q(cur):\n    cur.execute("SELECT * FROM orders WHERE id = {}")\n'
    files = {f"app/m{i}.py": query.format(i) for i in range(20)}
    root = write_tree(tmp_path / "p", {"audit.toml": 'legacy = { "orders" = "orders_v2" }\n', **files})
    config = load_config(str(root), None)

    def run(cache_dir: str | None) -> ScanResult:
        return scan(ScanOptions(str(root), config, jobs=2, cache_dir=cache_dir))

    assert len(run(str(tmp_path / "cache")).findings) == 20
    (root / "app" / "extra.py").write_text(query.format(99))  # a new file: the parse rounds run again
    later = time.time() + 10
    for name in files:  # read again by the pool (same bytes): the pool exists before the rounds
        os.utime(root / name, (later, later))
    expected = run(None).findings
    assert len(expected) == 21
    refused = {c for c in pickles.ALLOWED if c[1] == "Lit"}
    monkeypatch.setattr(pickles, "ALLOWED", pickles.ALLOWED - refused)
    assert run(str(tmp_path / "cache")).findings == expected


def test_a_call_cached_before_its_module_existed_keeps_the_helper_unresolved(tmp_path: Path) -> None:
    """A call to a module the tree does not have records no arguments, only that it passes unknown
    values: when that module is added later (the caller's facts come from the cache), its helper keeps
    its LR005 for that caller, exactly as a scan without cache says."""
    from auditor.catalog.config import load_config

    caller = (
        "import reports.db\n\n\ndef export(name):  # exports orders and others\n    reports.db.dump(name)\n"
    )
    root = write_tree(
        tmp_path / "p", {"audit.toml": 'legacy = { "orders" = "orders_v2" }\n', "app/jobs.py": caller}
    )

    def run(cache_dir: str | None) -> list[tuple[str, int, str]]:
        config = load_config(str(root), None)
        found = scan(ScanOptions(str(root), config, jobs=1, cache_dir=cache_dir)).findings
        return [(f.path, f.span.line, f.rule) for f in found]

    cache = str(tmp_path / "cache")
    run(cache)
    helper = 'def dump(table):\n    CUR.execute(f"SELECT * FROM {table}")\n'
    write_tree(root, {"reports/__init__.py": "", "reports/db.py": helper, "app/nightly.py": NIGHTLY})
    expected = run(None)
    assert ("reports/db.py", 2, "LR005") in expected  # app/jobs.py passes a name nobody knows
    assert ("app/nightly.py", 5, "LR004") in expected
    assert run(cache) == expected


NIGHTLY = "import reports.db\n\n\ndef nightly():\n    reports.db.dump('orders')\n"


def test_an_edit_that_only_retypes_an_attribute_redoes_the_rounds(tmp_path: Path) -> None:
    """The rounds parse the module of the type an attribute has (`self.store.count("orders")`, `store:
    db.Database`): an edit that changes only that annotation, in a module the rounds read through its view
    (it names a legacy table), makes them parse the new type's module on a warm scan exactly as a scan
    without cache does."""
    from auditor.catalog.config import Config

    store = (
        "from app import db, other\n\n\nclass Store:\n    store: other.Other\n\n    def n(self):\n"
        '        return self.store.count("orders")\n'
    )
    files = {
        "app/__init__.py": "",
        "app/db.py": (
            "class Database:\n    def count(self, table):\n"
            '        return self.execute(f"SELECT count(*) FROM {table}")\n'
        ),
        "app/other.py": "class Other:\n    def count(self, table):\n        return 0\n",
        "app/store.py": store,
    }
    root = write_tree(tmp_path / "p", files)

    def run(cache_dir: str | None) -> list[tuple[str, int, str]]:
        config = Config(unresolved="legacy-files")
        found = scan(ScanOptions(str(root), config, LEGACY, jobs=1, cache_dir=cache_dir)).findings
        return sorted((f.path, f.span.line, f.rule) for f in found)

    cache = str(tmp_path / "cache")
    assert run(cache) == run(None) == [("app/store.py", 8, "LR006")]
    write_tree(root, {"app/store.py": store.replace("other.Other", "db.Database")})
    assert run(None) == [("app/store.py", 8, "LR004")]
    assert run(cache) == [("app/store.py", 8, "LR004")]


def test_a_method_call_added_in_a_module_not_parsed_brings_its_helpers_lr005_back(tmp_path: Path) -> None:
    """A method helper whose parsed callers all pass literals has its LR005 resolved, unless a module the
    scan does not parse calls the method with a value nobody knows. That module's verdict is remembered
    per content: an edit there, with every other file unchanged and the resolution taken from the cache,
    changes the answer exactly as a scan without cache does, both ways."""
    from auditor.catalog.config import load_config

    db = (
        "class Database:\n    def count(self, table):\n"
        '        return self.execute(f"SELECT count(*) FROM {table}")\n'
    )
    report = "from app.db import Database\n\n\ndef report(db: Database):\n    return db.count('orders')\n"
    job = "def job(db, settings):\n    return db.count('customers')\n"
    root = write_tree(
        tmp_path / "p",
        {"audit.toml": 'legacy = { "orders" = "orders_v2" }\n', "app/db.py": db, "app/report.py": report,
         "app/job.py": job},
    )  # fmt: skip

    def run(cache_dir: str | None) -> list[tuple[str, int, str]]:
        config = load_config(str(root), None)
        found = scan(ScanOptions(str(root), config, jobs=1, cache_dir=cache_dir)).findings
        return sorted((f.path, f.span.line, f.rule) for f in found)

    cache = str(tmp_path / "cache")
    assert run(cache) == run(None) == [("app/report.py", 5, "LR004")]
    write_tree(root, {"app/job.py": job.replace("'customers'", "settings.table")})
    assert run(cache) == run(None) == [("app/db.py", 3, "LR005"), ("app/report.py", 5, "LR004")]
    write_tree(root, {"app/job.py": job})
    assert run(cache) == [("app/report.py", 5, "LR004")]


def test_an_edit_writes_a_small_segment_and_a_damaged_segment_is_parsed_again(tmp_path: Path) -> None:
    """Facts live in segment files beside the index: an edit writes the changed file's facts into a new
    small segment (the others stay where they are); a segment whose bytes no longer match their digests
    costs only a new parse, with the same findings."""
    files = {f"app/q{i}.py": QUERY.replace("load", f"load{i}") for i in range(6)}
    root = _project(tmp_path / "p", files)
    expected = _legacy_lines(_scan(root, cache_dir=None))
    assert _legacy_lines(_scan(root)) == expected
    (first,) = [
        p for p in _cache_files(root) if p.suffix == ".seg" and "facts-" in p.name and p.stat().st_size > 2000
    ]
    (root / "app/q0.py").write_text(QUERY.replace("load", "load_again"), encoding="utf-8")
    assert _legacy_lines(_scan(root)) == expected
    segments = [
        p for p in _cache_files(root) if p.suffix == ".seg" and p.name.startswith(first.name.split(".")[0])
    ]
    assert first in segments and len(segments) == 2
    assert min(p.stat().st_size for p in segments) < first.stat().st_size / 3
    first.write_bytes(first.read_bytes().replace(b"orders", b"ordxrs"))
    assert _legacy_lines(_scan(root)) == expected


def test_an_edit_that_leaves_the_facts_equal_reuses_the_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Early cutoff: the holder rounds and the resolution read a file only through its facts, so an edit
    that leaves them equal (a comment at the end) reuses both; an edit that moves a line, or changes what a
    call passes, resolves again. Every re-scan reports what a scan without cache reports."""
    from auditor.python import resolve

    resolutions: list[int] = []
    real = resolve.Resolver.resolve

    def counting(self: resolve.Resolver) -> Any:
        resolutions.append(1)
        return real(self)

    monkeypatch.setattr(resolve.Resolver, "resolve", counting)
    root = tmp_path / "app"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "table_name_helpers", root)
    orders = root / "app" / "services" / "orders.py"
    cache = str(tmp_path / "cache")

    def rescan(edit: Callable[[str], str]) -> bool:
        """Edit orders.py, re-scan with the cache; whether the resolution ran again."""
        orders.write_text(edit(orders.read_text()))
        expected = _fixture_scan(root, None)
        before = len(resolutions)
        result = _fixture_scan(root, cache)
        assert result.findings == expected.findings and result.mentions == expected.mentions
        return len(resolutions) > before

    _fixture_scan(root, cache)
    assert not rescan(lambda text: text + "# a comment about order_line_items\n")
    assert rescan(lambda text: "# a line on top: every finding below moves\n" + text)
    assert rescan(lambda text: text.replace('upsert("orders", row)', 'upsert("order_line_items", row)'))
    assert not rescan(lambda text: text + "\n")


def test_the_rounds_read_a_file_only_through_their_view_of_its_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Early cutoff for the holder rounds: they read a file's facts only through a position-free view (its
    constants that hold a legacy name, imports, classes, helper parameters), so an edit that moves every
    line, or changes a function body in a way they do not read, reuses them; a new holder constant runs
    them again and the file that uses it is parsed. Every re-scan reports what a scan without cache does."""
    rounds: list[int] = []
    real = scan_module._holder_names

    def counting(*args: Any) -> Any:
        rounds.append(1)
        return real(*args)

    monkeypatch.setattr(scan_module, "_holder_names", counting)
    root = tmp_path / "app"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "table_name_helpers", root)
    orders = root / "app" / "services" / "orders.py"
    # uses a constant orders.py does not define yet: no legacy name, no SQL, parsed only by the rounds
    (root / "app" / "services" / "extra.py").write_text(
        "from app.db import count_rows\nfrom app.services.orders import EXTRA\n\n\n"
        "def extra_count(cur):\n    return count_rows(cur, EXTRA)\n"
    )
    cache = str(tmp_path / "cache")

    def rescan(edit: Callable[[str], str]) -> tuple[bool, ScanResult]:
        """Edit orders.py, re-scan with the cache; whether the rounds ran again."""
        orders.write_text(edit(orders.read_text()))
        expected = _fixture_scan(root, None)
        before = len(rounds)
        result = _fixture_scan(root, cache)
        assert result.findings == expected.findings and result.mentions == expected.mentions
        return len(rounds) > before, result

    _fixture_scan(root, cache)
    assert rescan(lambda text: "# a line on top: every fact below moves\n" + text)[0] is False
    assert (
        rescan(lambda text: text.replace('"order_line_items changed"', '"order_line_items: changed"'))[0]
        is False
    )
    ran, result = rescan(lambda text: text + '\nEXTRA = "order_line_items"\n')
    assert ran and ("app/services/extra.py", 6) in _legacy_lines(result)


def test_equal_facts_pickle_equal_in_any_process() -> None:
    """The early cutoff compares digests of pickled facts across scans, that is across processes: the bytes
    must not depend on the string hash seed (set order) or on what the process extracted before."""
    program = (
        "import hashlib, pickle, sys\n"
        "from auditor.catalog.names import name_pattern\n"
        "from auditor.python.extract import extract_module\n"
        "from auditor.python.rulepacks import load_rule_packs\n"
        "packs, pattern = load_rule_packs(), name_pattern(['order_line_items'])\n"
        "for path in sys.argv[1:]:\n"
        "    facts = extract_module(path, open(path).read(), packs, pattern)\n"
        "print(hashlib.sha256(pickle.dumps(facts, 5)).hexdigest())  # the last file's\n"
    )
    root = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "table_name_helpers"
    target = str(root / "app" / "services" / "orders.py")
    others = sorted(str(p) for p in root.rglob("*.py") if str(p) != target)
    digests = set()
    # alone in its process, or after the other modules and itself (the state of a worker, or of a re-scan)
    for seed, before in (("1", []), ("2", [*others, target])):
        done = subprocess.run(
            [sys.executable, "-c", program, *before, target],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).resolve().parents[1],
            check=True,
        )
        digests.add(done.stdout)
    assert len(digests) == 1


def test_remembered_sql_analyses_of_another_shape_are_analysed_again(tmp_path: Path) -> None:
    """The SQL analyses a scan remembers by text are checked for shape when read back: entries of another
    shape (a damaged or foreign cache whose digest still holds) are analysed again, never trusted."""
    from auditor.discover import cache as cache_module

    root = tmp_path / "app"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "table_name_helpers", root)
    cache_dir = tmp_path / "cache"
    expected = _fixture_scan(root, None).findings
    assert _fixture_scan(root, str(cache_dir)).findings == expected
    tampered = 0
    for index in cache_dir.glob("facts-*.pickle"):
        cache = cache_module.ScanCache(str(cache_dir), index.name[len("facts-") : -len(".pickle")])
        if "sql analyses" in cache.stages:
            inputs, (refs, roles) = cache.stages["sql analyses"]
            refs = {text: ("not", "a", "result") for text in refs}
            roles = {text: ((1, 2),) for text in roles} | {"SELECT 1": "garbage"}
            cache.stages["sql analyses"] = (inputs, (refs, roles))
            cache.used_stages = set(cache.stages)
            cache.dirty = True
            cache.save()
            tampered += 1
    assert tampered == 1
    orders = root / "app" / "services" / "orders.py"
    orders.write_text("# a line on top: the scan resolves again\n" + orders.read_text())
    _forget_sql_analyses()
    expected = _fixture_scan(root, None).findings
    _forget_sql_analyses()  # as a new process: only what the cache remembers is known
    assert _fixture_scan(root, str(cache_dir)).findings == expected


def _forget_sql_analyses() -> None:
    from auditor.sql.analyses import forget_analyses

    forget_analyses()


@pytest.mark.parametrize("kept", [True, False], ids=["bytes kept", "files read again"])
@pytest.mark.parametrize("holders", [3, 40])
def test_a_module_is_read_for_a_holder_it_names_as_a_whole_word(
    tmp_path: Path, holders: int, kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder rounds read a file that names a constant holding a legacy name (and its module): with a
    few holders a substring search per name, with many one pass over the file's words. Either way the
    constant counts only as a whole word: `T1` is not in `T10`. The same verdicts whether the rounds test
    the bytes the first round kept (here for a few holders, on the workers for many) or read the files
    again (a tree larger than the bytes kept)."""
    if not kept:
        monkeypatch.setattr(scan_module, "_KEPT_BYTES", 0)
    constants = "".join(f'T{i} = "orders"\n' for i in range(holders))
    root = _project(
        tmp_path / "p",
        {
            "app/__init__.py": "",
            "app/tables.py": constants,
            "app/users.py": "from sqlalchemy import MetaData, Table\nfrom app.tables import T1\n\n"
            "t = Table(T1, MetaData())\n",
            # were it read, the table name its function is given would be reported (LR005)
            "app/lookalike.py": "from sqlalchemy import MetaData, Table\n"
            "from app.tables import T10_SUFFIX\n\n\n"
            "def make(name):\n    return Table(name, MetaData(), info=T10_SUFFIX)\n",
        },
    )
    result = _scan(root, cache_dir=None)
    assert ("app/users.py", 4) in _legacy_lines(result)
    assert not [f for f in result.findings if f.path == "app/lookalike.py"]


def test_the_workers_analyse_the_sql_texts_the_resolution_assembles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The texts a worker analyses ahead (`module_sql_texts`) are texts the resolution then asks for,
    candidates of an `if` included: otherwise the one-core resolution analyses them itself."""
    from auditor.catalog.names import LegacyCatalog, name_pattern
    from auditor.core.model import LegacyObject, ObjectName
    from auditor.python import resolve
    from auditor.python.extract import extract_module
    from auditor.python.rulepacks import load_rule_packs

    root = Path(__file__).resolve().parents[1] / "fixtures" / "cases" / "values_from_branches"
    text = (root / "reports.py").read_text(encoding="utf-8")
    facts = extract_module("reports.py", text, load_rule_packs(), name_pattern(["orders"]))
    ahead = set(resolve.module_sql_texts(facts))
    assert "SELECT * FROM orders" in ahead and "SELECT * FROM orders_archive" in ahead  # both branches
    asked: set[str] = set()
    original = resolve.table_references

    def noting(sql: str) -> Any:
        asked.add(sql)
        return original(sql)

    monkeypatch.setattr(resolve, "table_references", noting)
    legacy = LegacyObject(ObjectName("public", "orders"), ObjectName("public", "orders_v2"), "name", "cli")
    resolve.Resolver([facts], LegacyCatalog([legacy])).resolve()
    assert ahead <= asked


def test_the_rounds_parse_a_helpers_callers_not_those_of_a_module_path_builder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A function whose parameter reaches a table position is a helper: the files that call it are parsed,
    a forwarder among them becomes a helper too, and the name its caller passes is found at the call. A
    parameter written before a dotted path (`"%s.management.commands.%s" % (app, name)`) is a module's
    name, no `{table}.column`: that function is no helper, and its callers are not parsed."""
    from auditor.python import extract

    root = _project(
        tmp_path / "p",
        {
            "app/__init__.py": "",
            "app/loader.py": "from importlib import import_module\n\n\n"
            "def load_command(app_name, name):\n"
            '    return import_module("%s.management.commands.%s" % (app_name, name))\n\n\n'
            "def purge(cur, table):\n"
            '    cur.execute(f"DELETE FROM {table} WHERE {table}.expired")\n',
            "app/commands.py": "from app.loader import load_command\n\n"
            'COMMAND = load_command("app", "cleanup")\n',
            "app/jobs.py": "from app.loader import purge\n\n\ndef run(cur, table):\n    purge(cur, table)\n",
            "app/main.py": 'from app.jobs import run\n\n\ndef nightly(cur):\n    run(cur, "orders")\n',
        },
    )
    parsed: list[str] = []
    original = extract.extract_module

    def noting(path: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(extract, "extract_module", noting)
    result = scan(ScanOptions(str(root), Config(), LEGACY, jobs=1, cache_dir=None))
    found = [(f.path, f.span.line, f.rule, f.via) for f in result.findings if f.legacy is not None]
    assert found == [("app/main.py", 5, "LR004", ("app.jobs.run", "app.loader.purge"))]
    assert "app/jobs.py" in parsed and "app/commands.py" not in parsed
