"""The scan pipeline: discover -> catalog -> pre-filter -> extract (parallel) -> resolve -> SQL files."""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import NamedTuple

from auditor.catalog.config import Config, ConfigError
from auditor.catalog.names import LegacyCatalog, parse_object_name
from auditor.core.model import DbObject, Diagnostic, Finding, LegacyObject, ScanResult, report_order
from auditor.core.source import decode_python, decode_sql, read_bytes, read_source
from auditor.discover.cache import (
    CACHE_DIR,
    FileRecord,
    ScanCache,
    configuration_key,
    content_key,
    file_status,
)
from auditor.discover.files import SourceFile, discover
from auditor.discover.prefilter import ModelClassPrefilter, NamePrefilter, builds_dynamic_sql
from auditor.python.extract import ModuleFacts, extract_module
from auditor.python.rulepacks import RulePacks, load_rule_packs
from auditor.python.values import Lit

_PARALLEL_THRESHOLD = 16
SUPPRESSION_MARK = "audit: ignore"
SUPPRESSION_MARK_BYTES = SUPPRESSION_MARK.encode()


@dataclass(frozen=True)
class ScanOptions:
    root: str
    config: Config
    legacy: Sequence[tuple[str, str]] = ()  # from the command line
    jobs: int = 0  # 0: all cores
    cache_dir: str | None = CACHE_DIR  # relative to the root; None: no cache


MIGRATION_DIR_NAMES = frozenset({"migrations", "migration"})


def default_migration_dirs(config: Config, sql_paths: Iterable[str]) -> tuple[str, ...]:
    """The configured migration directories, or every directory named `migrations` or `migration`
    that holds .sql files (supabase/migrations, db/migrations, Flyway's db/migration, ...)."""
    if config.migrations is not None:
        return tuple(m.strip("/") for m in config.migrations)
    dirs = {os.path.dirname(p) for p in sql_paths}
    return tuple(sorted(d for d in dirs if os.path.basename(d) in MIGRATION_DIR_NAMES))


def _migration_order(path: str) -> tuple[str, list[int | str]]:
    """File-name order with numbers compared as numbers (Flyway's V2__ before V10__)."""
    parts = re.split(r"(\d+)", os.path.basename(path))
    return os.path.dirname(path), [int(p) if p.isdigit() else p for p in parts]


@dataclass
class SqlSources:
    texts: dict[str, str]  # relative path -> text, for every readable .sql file
    diagnostics: list[Diagnostic]


def read_sql_files(files: Iterable[SourceFile], max_bytes: int) -> SqlSources:
    sources = SqlSources({}, [])
    for file in files:
        if file.path.endswith(".sql"):
            text = _read_sql(file, max_bytes)
            if isinstance(text, Diagnostic):
                sources.diagnostics.append(text)
            else:
                sources.texts[file.path] = text
    return sources


def load_catalog(
    root: str, config: Config, cli_legacy: Sequence[tuple[str, str]]
) -> tuple[LegacyCatalog, tuple[str, ...]]:
    """The catalog of a scan root, as `audit catalog` shows it (and the migration directories read)."""
    found = discover(os.path.abspath(root), config.exclude)
    sql = read_sql_files(found.files, config.max_file_bytes)
    dirs = default_migration_dirs(config, sql.texts)
    catalog, _, _, _ = build_catalog(root, config, cli_legacy, sql.texts, dirs)
    return catalog, dirs


def build_catalog(
    root: str,
    config: Config,
    cli_legacy: Sequence[tuple[str, str]],
    sql_texts: dict[str, str],
    migration_dirs: Sequence[str],
) -> tuple[LegacyCatalog, list[Diagnostic], object, list[str]]:
    """Migrations, then config, then command line: later sources override earlier ones."""
    schema = config.default_schema
    migration_paths = sorted(
        (p for p in sql_texts if any(p.startswith(d.rstrip("/") + "/") for d in migration_dirs)),
        key=_migration_order,
    )
    objects: dict[str, LegacyObject] = {}
    from_migrations = None
    migration_diagnostics: list[Diagnostic] = []
    if migration_paths:  # sqlglot is imported only when there are migrations to read
        from auditor.sql.migrations import catalog_from_migrations

        from_migrations = catalog_from_migrations([(p, sql_texts[p]) for p in migration_paths], schema)
        objects = {str(o.legacy): o for o in from_migrations.objects}
        migration_diagnostics = list(from_migrations.diagnostics)
    for source, pairs in (("config", list(config.legacy.items())), ("cli", list(cli_legacy))):
        for old, new in pairs:
            legacy = parse_object_name(old, schema)
            target = parse_object_name(new, schema)
            known = objects.get(str(legacy))
            columns = known.columns if known is not None and known.target == target else ()
            objects[str(legacy)] = LegacyObject(
                legacy, target, "name" if known is None else known.kind, source, columns
            )
    catalog = LegacyCatalog(objects.values(), schema)
    return catalog, migration_diagnostics, from_migrations, migration_paths


def name_pattern(names: Iterable[str]) -> re.Pattern[str]:
    # longest first so that alternation prefers whole names; sorted so the pattern (a cache key) is stable
    ordered = sorted({re.escape(n) for n in names}, key=lambda n: (-len(n), n))
    alternation = "|".join(ordered) or r"(?!x)x"
    return re.compile(rf"(?<![\w$])(?:{alternation})(?![\w$])", re.IGNORECASE)


# --- workers ----------------------------------------------------------------------------------------

# the pre-filter's verdicts on one file's text, recorded in the cache so an unchanged file is not read
NAMES_LEGACY, BUILDS_SQL, MAY_DEFINE_MODEL, HAS_SUPPRESSION, BUILDS_SQL_KNOWN = 1, 2, 4, 8, 16


@dataclass(frozen=True, slots=True)
class _Task:
    path: str
    full_path: str
    data: bytes | None = None  # bytes already read (and keyed) by the main process
    parse: bool = False  # parse whatever the pre-filter says (a holder of a legacy name is used)


@dataclass(frozen=True, slots=True)
class _Outcome:
    path: str
    record: FileRecord | None  # None: the file could not be read (``result`` says why)
    result: ModuleFacts | Diagnostic | None  # None: not parsed (no candidate) or already in the cache


@dataclass(frozen=True, slots=True)
class _Filters:
    names: NamePrefilter
    models: ModelClassPrefilter
    dynamic: bool  # look for dynamic SQL everywhere (LR005), not only in files naming a legacy object

    def flags(self, path: str, data: bytes) -> int:
        lowered = data.lower()
        flags = BUILDS_SQL_KNOWN if self.dynamic else 0
        if SUPPRESSION_MARK_BYTES in data:
            flags |= HAS_SUPPRESSION
        if self.names.matches(data, lowered):
            flags |= NAMES_LEGACY
        elif self.dynamic and builds_dynamic_sql(lowered):
            flags |= BUILDS_SQL
        if self.models.matches(path, lowered):
            flags |= MAY_DEFINE_MODEL
        return flags

    def wanted(self, flags: int) -> bool:
        return bool(flags & (NAMES_LEGACY | MAY_DEFINE_MODEL) or (self.dynamic and flags & BUILDS_SQL))


_WORKER: dict[str, object] = {}


def _init_worker(
    packs: RulePacks, pattern: re.Pattern[str], max_bytes: int, filters: _Filters, cache: ScanCache
) -> None:
    _WORKER.update(packs=packs, pattern=pattern, max_bytes=max_bytes, filters=filters, cache=cache)


def _analyse(task: _Task) -> _Outcome:
    """Read a file once, key and pre-filter those bytes, and parse them when they can matter."""
    if task.data is None:
        read = read_source(task.full_path, task.path, int(_WORKER["max_bytes"]))  # type: ignore[call-overload]
        if isinstance(read, Diagnostic):
            return _Outcome(task.path, None, read)
        data, status = read
        stat_key = file_status(status)
    else:
        data, stat_key = task.data, (-1, -1, -1, -1)  # read by the main process, which records it
    filters: _Filters = _WORKER["filters"]  # type: ignore[assignment]
    flags = filters.flags(task.path, data)
    record = FileRecord(stat_key, content_key(task.path.encode() + b"\0" + data), flags)
    cache: ScanCache = _WORKER["cache"]  # type: ignore[assignment]
    if not (task.parse or filters.wanted(flags)) or cache.get(record.key, task.path) is not None:
        return _Outcome(task.path, record, None)
    return _Outcome(task.path, record, _parse(task.path, data))


def _parse(rel: str, data: bytes) -> ModuleFacts | Diagnostic:
    text = decode_python(data, rel)
    if isinstance(text, Diagnostic):
        return text
    try:
        return extract_module(rel, text, _WORKER["packs"], _WORKER["pattern"])  # type: ignore[arg-type]
    except SyntaxError as exc:
        return Diagnostic(rel, exc.lineno, "syntax-error", f"cannot parse: {exc.msg}")
    except (RecursionError, MemoryError):
        return Diagnostic(rel, None, "syntax-error", "cannot parse: nesting too deep")
    except Exception as exc:  # one file's failure must not end the scan
        return Diagnostic(
            rel, None, "parse-error", f"could not analyse the file: {type(exc).__name__}: {exc}"
        )


def worker_count(jobs: int, files: int) -> int:
    """Never more workers than cores or than files (0: all cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(jobs or cores, cores, files))


class _Extractor:
    """Runs file analysis in-process or on a pool of processes; a crashed worker costs only its file."""

    def __init__(
        self, jobs: int, init_args: tuple[object, ...], work: Callable[[_Task], _Outcome] = _analyse
    ) -> None:
        self.jobs = jobs
        self.args = init_args
        self.work = work
        self.pool: ProcessPoolExecutor | None = None

    def run(self, tasks: list[_Task]) -> list[_Outcome]:
        jobs = worker_count(self.jobs, len(tasks))
        if jobs <= 1 or len(tasks) < _PARALLEL_THRESHOLD:
            _init_worker(*self.args)  # type: ignore[arg-type]
            return [self.work(task) for task in tasks]
        chunk = max(1, len(tasks) // (jobs * 8))
        try:
            return list(self._pool(jobs).map(self.work, tasks, chunksize=chunk))
        except BrokenProcessPool:
            self.close()
            return [self._alone(task) for task in tasks]

    def _alone(self, task: _Task) -> _Outcome:
        """Re-run one file in a worker of its own: a crash then names the file that caused it."""
        try:
            return self._pool(1).submit(self.work, task).result()
        except BrokenProcessPool:
            self.close()
            message = "the analysis crashed (its worker process died); the file was not analysed"
            return _Outcome(task.path, None, Diagnostic(task.path, None, "analysis-crash", message))

    def _pool(self, jobs: int) -> ProcessPoolExecutor:
        if self.pool is None:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            self.pool = ProcessPoolExecutor(
                jobs, mp_context=context, initializer=_init_worker, initargs=self.args
            )
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


# --- the scan ---------------------------------------------------------------------------------------


def scan(options: ScanOptions, progress: Callable[[str, int, int], None] | None = None) -> ScanResult:
    root = os.path.abspath(options.root)
    config = options.config
    if not os.path.isdir(root):
        raise ConfigError(f"not a directory: {options.root}")
    packs = load_rule_packs(config.rule_packs, config.sinks)
    found = discover(root, config.exclude)
    diagnostics: list[Diagnostic] = list(found.diagnostics)
    py_files = [f for f in found.files if f.path.endswith(".py")]
    sql = read_sql_files(found.files, config.max_file_bytes)
    sql_texts = sql.texts
    diagnostics.extend(sql.diagnostics)
    migration_dirs = default_migration_dirs(config, sql_texts)
    catalog, catalog_diagnostics, migration_info, migration_paths = build_catalog(
        root, config, options.legacy, sql_texts, migration_dirs
    )
    diagnostics.extend(catalog_diagnostics)
    if not catalog:
        raise ConfigError(
            "the legacy catalog is empty: no compatibility views in the migrations "
            f"({', '.join(migration_dirs) or 'none found'}), no `legacy` in the config, no --legacy OLD=NEW"
        )
    pattern = name_pattern(catalog.bare_names)
    filters = _Filters(
        NamePrefilter(catalog.bare_names),
        ModelClassPrefilter(catalog.bare_names),
        config.unresolved == "everywhere",
    )
    cache_dir = os.path.join(root, options.cache_dir) if options.cache_dir else None
    cache = ScanCache(cache_dir, configuration_key(repr(packs), pattern.pattern))
    extractor = _Extractor(options.jobs, (packs, pattern, config.max_file_bytes, filters, cache))
    try:
        python = _extract_python(
            py_files,
            extractor,
            filters,
            config.max_file_bytes,
            progress,
            cache,
            pattern,
            frozenset(m.attribute for m in packs.mappings),
        )
    finally:
        extractor.close()
    diagnostics.extend(python.diagnostics)
    findings = _resolve(python.facts, python.keys, catalog, cache)
    sql_result = _analyze_sql(sql_texts, migration_paths, catalog, migration_info, cache)
    cache.save(keep=set(python.keys.values()), paths=set(python.keys))
    findings.extend(sql_result.findings)
    diagnostics.extend(sql_result.diagnostics)
    findings = _with_snippets(findings, root, sql_texts)
    suppression_files = sorted(
        {p for p, t in sql_texts.items() if SUPPRESSION_MARK in t} | set(python.suppressions)
    )
    findings.sort(key=report_order)
    return ScanResult(
        root=root,
        catalog=catalog.objects,
        findings=tuple(findings),
        diagnostics=tuple(sorted(diagnostics, key=lambda d: (d.path, d.line or 0, d.kind))),
        files_scanned=len(py_files) + len(sql_texts),
        db_objects=tuple(sql_result.db_objects),
        suppression_files=tuple(suppression_files),
    )


def _resolve(
    facts: list[ModuleFacts], keys: dict[str, str], catalog: LegacyCatalog, cache: ScanCache
) -> list[Finding]:
    """Cross-module resolution, memoised by the content of every parsed file and the catalog."""
    inputs = content_key(repr((catalog.objects, sorted((f.path, keys.get(f.path)) for f in facts))).encode())
    cached = cache.stage("resolution", inputs)
    if cached is not None:
        return list(cached)
    from auditor.python.resolve import Resolver, apply_positions  # sqlglot: only when resolving

    resolution = Resolver(facts, catalog).resolve()
    findings = resolution.findings
    if resolution.pending:
        positions = {f.path: f.node_positions for f in facts}
        findings = apply_positions(findings, resolution.pending, positions)
    cache.put_stage("resolution", inputs, tuple(findings))
    return findings


class _SqlAnalysis(NamedTuple):
    findings: tuple[Finding, ...]
    db_objects: tuple[DbObject, ...]
    diagnostics: tuple[Diagnostic, ...]


def _analyze_sql(
    sql_texts: dict[str, str],
    migration_paths: list[str],
    catalog: LegacyCatalog,
    migration_info: object,
    cache: ScanCache,
) -> _SqlAnalysis:
    """The .sql files' findings and database objects, memoised by their text and the catalog."""
    texts = sorted(sql_texts.items())
    inputs = content_key(
        repr((catalog.objects, texts, sorted(migration_paths))).encode("utf-8", "surrogatepass")
    )
    cached = cache.stage("sql", inputs)
    if cached is not None:
        return cached
    from auditor.sql.files import analyze_sql_files  # sqlglot: imported only when there is SQL to analyse

    found = analyze_sql_files(texts, frozenset(migration_paths), catalog, migration_info)  # type: ignore[arg-type]
    # kept as core values only: reading the cache must not import the SQL stage (and sqlglot)
    result = _SqlAnalysis(tuple(found.findings), tuple(found.db_objects), tuple(found.diagnostics))
    cache.put_stage("sql", inputs, result)
    return result


def _read_sql(file: SourceFile, max_bytes: int) -> str | Diagnostic:
    data = read_bytes(file.full_path, file.path, max_bytes)
    return data if isinstance(data, Diagnostic) else decode_sql(data, file.path)


@dataclass
class _PythonFacts:
    facts: list[ModuleFacts]
    diagnostics: list[Diagnostic]
    suppressions: list[str]
    keys: dict[str, str]  # path -> content key, for every file read (or known unchanged)


def _extract_python(
    files: list[SourceFile],
    extractor: _Extractor,
    filters: _Filters,
    max_bytes: int,
    progress: Callable[[str, int, int], None] | None,
    cache: ScanCache,
    pattern: re.Pattern[str],
    mapping_attributes: frozenset[str],
) -> _PythonFacts:
    """Parse only files that can hold a reference: they name a legacy object, build SQL around a
    table keyword, or use a constant that (transitively) holds a legacy name. A file whose status is
    unchanged since the last scan is not read: its content key and pre-filter verdicts are recorded."""
    out = _PythonFacts([], [], [], {})
    records: dict[str, FileRecord] = {}
    to_read: list[_Task] = []
    for file in files:
        try:
            record = cache.unchanged(file.path, os.stat(file.full_path))
        except OSError:
            record = None
        if record is not None and (not filters.dynamic or record.flags & BUILDS_SQL_KNOWN):
            records[file.path] = record
        else:
            to_read.append(_Task(file.path, file.full_path))
    if progress is not None:
        progress("parsing", 0, len(to_read))
    results: dict[str, ModuleFacts | Diagnostic] = {}
    _collect(extractor.run(to_read), cache, records, results, out.diagnostics)
    lost = [  # unchanged files whose result is no longer in the cache
        _Task(f.path, f.full_path)
        for f in files
        if f.path in records
        and f.path not in results
        and filters.wanted(records[f.path].flags)
        and cache.get(records[f.path].key, f.path) is None
    ]
    _collect(extractor.run(lost), cache, records, results, out.diagnostics)
    by_path = {f.path: f for f in files}
    round_paths = [p for p in by_path if p in records and filters.wanted(records[p].flags)]
    remaining = [p for p in by_path if p in records and not filters.wanted(records[p].flags)]
    while round_paths:
        new_facts = []
        for path in round_paths:
            result = results.get(path) or cache.get(records[path].key, path)
            if isinstance(result, ModuleFacts):
                new_facts.append(result)
            elif isinstance(result, Diagnostic):
                out.diagnostics.append(result)
        out.facts.extend(new_facts)
        holders = _holder_names(new_facts, pattern, mapping_attributes)
        if not holders or not remaining:
            break
        round_paths = _holder_users(
            remaining, holders, by_path, records, extractor, cache, results, max_bytes, out
        )
        used = set(round_paths)
        remaining = [p for p in remaining if p not in used]
    out.keys = {path: record.key for path, record in records.items()}
    out.suppressions = [p for p in by_path if p in records and records[p].flags & HAS_SUPPRESSION]
    return out


def _collect(
    outcomes: list[_Outcome],
    cache: ScanCache,
    records: dict[str, FileRecord],
    results: dict[str, ModuleFacts | Diagnostic],
    diagnostics: list[Diagnostic],
) -> None:
    for outcome in outcomes:
        if outcome.record is None:
            if outcome.result is not None:
                diagnostics.append(outcome.result)  # type: ignore[arg-type]
            continue
        records[outcome.path] = outcome.record
        if outcome.record.status[0] >= 0:
            cache.record(outcome.path, outcome.record)
        if outcome.result is not None:
            cache.put(outcome.record.key, outcome.result)
            results[outcome.path] = outcome.result


def _holder_users(
    remaining: list[str],
    holders: dict[str, set[str]],
    by_path: dict[str, SourceFile],
    records: dict[str, FileRecord],
    extractor: _Extractor,
    cache: ScanCache,
    results: dict[str, ModuleFacts | Diagnostic],
    max_bytes: int,
    out: _PythonFacts,
) -> list[str]:
    """The remaining files that use one of the holder constants (parsed, or found in the cache).

    Which file uses which holders is remembered per holder set, so an unchanged file is not read."""
    signature = content_key(repr(sorted((k, sorted(v)) for k, v in holders.items())).encode())
    known: dict[str, tuple[str, bool]] = cache.stage("holders:" + signature, signature) or {}
    verdicts: dict[str, tuple[str, bool]] = {}
    names = NamePrefilter(holders)
    users: list[str] = []
    to_parse: list[_Task] = []
    for path in remaining:
        record = records[path]
        verdict = known.get(path)
        lost = (
            verdict is not None and verdict[1] and path not in results and cache.get(record.key, path) is None
        )
        if verdict is None or verdict[0] != record.key or lost:
            read = read_source(by_path[path].full_path, path, max_bytes)
            if isinstance(read, Diagnostic):
                out.diagnostics.append(read)
                continue
            data, status = read
            key = content_key(path.encode() + b"\0" + data)
            verdict = (key, _uses_holder(data, data.lower(), holders, names))
            if verdict[1] and cache.get(key, path) is None:
                to_parse.append(_Task(path, by_path[path].full_path, data, parse=True))
            if key != record.key:  # changed since the first round: what was read now is what counts
                records[path] = FileRecord(file_status(status), key, record.flags)
        verdicts[path] = verdict
        if verdict[1]:
            users.append(path)
    _collect(extractor.run(to_parse), cache, {}, results, out.diagnostics)
    cache.put_stage("holders:" + signature, signature, verdicts)
    return users


def _holder_names(
    facts: list[ModuleFacts], pattern: re.Pattern[str], mapping_attributes: frozenset[str]
) -> dict[str, set[str]]:
    """Module-level constants whose literal text names a legacy object, and the names re-exporting them,
    each with the last name of the modules that define it (a user must import it from there).

    """
    holders: dict[str, set[str]] = {}
    for module in facts:
        for key, value in module.constants.items():
            path = key.split("[", 1)[0]
            attribute = path.rsplit(".", 1)[-1]
            if attribute.startswith("__") or attribute in mapping_attributes:
                continue  # ORM mappings are read where they are written, never imported as values
            if any(isinstance(p, Lit) and pattern.search(p.text) for p in value):
                # a class constant (an Enum member, say) is imported by its class's name
                holders.setdefault(path.split(".", 1)[0], set()).add(module.module.rsplit(".", 1)[-1])
    for module in facts:
        for local, target in module.imports.items():
            if target.rsplit(".", 1)[-1] in holders:
                holders.setdefault(local, set()).add(module.module.rsplit(".", 1)[-1])
    return holders


def _uses_holder(data: bytes, lowered: bytes, holders: dict[str, set[str]], names: NamePrefilter) -> bool:
    """The file names a holder constant and the module it comes from (an import, or `module.NAME`)."""
    if not names.matches(data, lowered):
        return False
    for name, modules in holders.items():
        if name.encode() in data and any(m.lower().encode() in lowered for m in modules):
            return True
    return False


def _with_snippets(findings: list[Finding], root: str, sql_texts: dict[str, str]) -> list[Finding]:
    lines_by_path: dict[str, list[str]] = {}
    out: list[Finding] = []
    for finding in findings:
        if finding.snippet:
            out.append(finding)
            continue
        lines = lines_by_path.get(finding.path)
        if lines is None:
            text = sql_texts.get(finding.path)
            if text is None:
                data = read_bytes(os.path.join(root, finding.path), finding.path, 1 << 30)
                decoded = decode_python(data, finding.path) if isinstance(data, bytes) else ""
                text = decoded if isinstance(decoded, str) else ""
            lines = text.split("\n")
            lines_by_path[finding.path] = lines
        line = finding.span.line
        snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        out.append(replace(finding, snippet=snippet))
    return out
