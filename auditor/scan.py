"""The scan pipeline: discover -> catalog -> pre-filter -> extract (parallel) -> resolve -> SQL files."""

from __future__ import annotations

import codecs
import contextlib
import functools
import gc
import multiprocessing
import os
import pickle
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from auditor.catalog.config import Config, ConfigError
from auditor.catalog.names import LegacyCatalog, name_pattern, parse_declared_name, parse_object_name
from auditor.core.model import (
    MIGRATION,
    UNANALYSED_KINDS,
    Confidence,
    DbObject,
    Diagnostic,
    Finding,
    HeldHelper,
    InferredSink,
    LeftOut,
    LegacyObject,
    Mention,
    ObjectName,
    ScanResult,
    Span,
    UnanalysedFile,
    report_order,
)
from auditor.core.source import decode_python, decode_sql, read_bytes, read_source, snippet_of, utf16_text
from auditor.core.timings import Timings
from auditor.database.connect import DatabaseError, DatabaseRequest
from auditor.discover.cache import (
    CACHE_DIR,
    FileRecord,
    ScanCache,
    configuration_key,
    content_key,
    file_status,
)
from auditor.discover.files import SourceFile, discover
from auditor.discover.languages import OtherSource, other_files, read_others
from auditor.discover.prefilter import (
    SUPPRESSION_MARK,
    SUPPRESSION_MARK_BYTES,
    ModelClassPrefilter,
    NamePrefilter,
    SinkCallPrefilter,
    builds_dynamic_sql,
    names_in_file,
)
from auditor.python.migrations import PythonMigration, application_order, could_be_migration, read_migration
from auditor.python.rulepacks import RulePacks, load_rule_packs
from auditor.python.values import Hole, Lit
from auditor.sql.analyses import (
    RememberedSql,
    adopt_analyses,
    analyses_of,
    analyses_used,
    remember_analyses,
    start_share,
)
from auditor.sql.order import is_repeatable, migration_order

if TYPE_CHECKING:
    from auditor.database.witness import LiveReading
    from auditor.python.extract import ModuleFacts
    from auditor.python.reconcile import MentionSource
    from auditor.sql.dependents import DependentObjects
    from auditor.sql.migrations import MigrationCatalog

_PARALLEL_THRESHOLD = 16
_Item = TypeVar("_Item")
_Result = TypeVar("_Result")
# the bytes of unparsed files the main process keeps for the holder rounds (read once, not once a round);
# a larger tree's other files are read again by the rounds' workers
_KEPT_BYTES = 96 << 20


@dataclass(frozen=True)
class ScanOptions:
    root: str
    config: Config
    legacy: Sequence[tuple[str, str]] = ()  # from the command line
    jobs: int = 0  # 0: all cores
    cache_dir: str | None = CACHE_DIR  # relative to the root; None: no cache
    database: DatabaseRequest | None = None  # the live database as a second witness
    accept_unresolved: bool = False  # a person checked the LR005 sites: they hold no legacy name
    timings: Timings | None = None  # where the time goes, stage by stage (`--timings`)


MIGRATION_DIR_NAMES = frozenset({"migrations", "migration"})
# a versioned script's name: Flyway's `V3__`, or a number or date first (`0007_`, `2021-04-12-add-x`)
_VERSIONED_NAME = re.compile(r"(?:V\d+(?:[._]\d+)*__|\d+[-_.])")
_SCHEMA_CHANGE = re.compile(r"^[ \t]*(?:create|alter|drop)[ \t\n]", re.IGNORECASE | re.MULTILINE)


def default_migration_dirs(config: Config, sql_texts: Mapping[str, str]) -> tuple[str, ...]:
    """The configured migration directories (or files), or every directory named `migrations` or
    `migration` that holds .sql files (supabase/migrations, db/migrations, Flyway's db/migration, ...), a
    .sql file of that name (one file of every migration, appended in order: `sql/migrations.sql`), and every
    directory of versioned schema scripts whatever its name (`sql/updates/2021-04-12-add-x.sql`): two
    or more .sql files, each named by a version or a date, most of them changing the schema (a folder of
    dated reports, which only read, is not history)."""
    if config.migrations is not None:
        return tuple(m.strip("/") for m in config.migrations)
    by_dir: dict[str, list[str]] = {}
    for path in sql_texts:
        by_dir.setdefault(os.path.dirname(path), []).append(path)
    # one file that holds the whole history, appended to migration after migration (`sql/migrations.sql`)
    found = {p for p in sql_texts if os.path.splitext(os.path.basename(p))[0].lower() in MIGRATION_DIR_NAMES}
    for folder, paths in by_dir.items():
        if os.path.basename(folder) in MIGRATION_DIR_NAMES:
            found.add(folder)
        elif len(paths) >= 2 and all(_VERSIONED_NAME.match(os.path.basename(p)) for p in paths):
            changes = sum(1 for p in paths if _SCHEMA_CHANGE.search(sql_texts[p]))
            if 2 * changes > len(paths):
                found.add(folder)
    return tuple(sorted(found))


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
    catalog, _, dirs = load_catalog_and_migrations(root, config, cli_legacy)
    return catalog, dirs


def load_catalog_and_migrations(
    root: str, config: Config, cli_legacy: Sequence[tuple[str, str]]
) -> tuple[LegacyCatalog, MigrationCatalog, tuple[str, ...]]:
    """The catalog of a scan root and the migration history it came from (for comparing a database)."""
    found = discover(os.path.abspath(root), config.exclude)
    sources = read_migration_sources(found.files, config)
    catalog, _, migrations, _ = build_catalog(root, config, cli_legacy, sources)
    return catalog, migrations, sources.dirs


@dataclass
class MigrationSources:
    """The .sql files, the SQL migration directories among them, and the Python migrations."""

    sql: SqlSources
    dirs: tuple[str, ...]
    python: list[PythonMigration]  # in application order

    @property
    def python_texts(self) -> list[tuple[str, str]]:
        return [(m.path, m.sql) for m in self.python]


def history_cache(cache_dir: str | None, config: Config) -> ScanCache | None:
    """The cache of what the migration history says (the Python migrations by content, the catalog) and
    of the last walk of the tree."""
    if cache_dir is None:
        return None
    configured = [m for m in config.migrations or () if m.strip("/")]
    return ScanCache(cache_dir, configuration_key("python migrations", repr(configured)))


def read_migration_sources(
    files: Sequence[SourceFile], config: Config, memo: ScanCache | None = None, jobs: int = 1
) -> MigrationSources:
    """The .sql files and the Python migrations; with a cache, an unchanged Python file is not read
    again (its migration, or that it is none, is remembered by content). Many files to read are read on
    ``jobs`` processes (0: all cores)."""
    sql = read_sql_files(files, config.max_file_bytes)
    configured = tuple(m for m in config.migrations or () if m.strip("/"))
    candidates = [f for f in files if f.path.endswith(".py") and could_be_migration(f.path, configured)]
    known = {f.path: _remembered_migration(f, memo) for f in candidates} if memo is not None else {}
    unread = [f for f in candidates if known.get(f.path) is None]
    tasks = [_MigrationTask(f.path, f.full_path, configured, config.max_file_bytes) for f in unread]
    extractor = _Extractor(jobs, (), work=_read_migration_task, initializer=None)  # type: ignore[arg-type]
    try:
        read = dict(zip([f.path for f in unread], extractor.run(tasks), strict=True))  # type: ignore[arg-type]
    finally:
        extractor.close()
    python: list[PythonMigration] = []
    for file in candidates:
        migration: PythonMigration | None
        if file.path in read:
            outcome = read[file.path]
            # a worker that crashed on the file leaves it unread: the extraction reports it
            migration, key, status = outcome if isinstance(outcome, tuple) else _UNREAD
            if memo is not None and key is not None:
                memo.put(key, migration or PythonMigration(file.path, "", ""))  # "": not a migration
                memo.record(file.path, FileRecord(status, key, 0))
        else:
            remembered = known[file.path]
            migration = remembered if remembered is not None and remembered.framework else None
        if migration is not None:
            python.append(migration)
            sql.diagnostics.extend(migration.diagnostics)
    if memo is not None:
        current = {record.key for record in memo.files.values()}  # an edited file's old content goes
        memo.entries = {key: entry for key, entry in memo.entries.items() if key in current}
    return MigrationSources(sql, default_migration_dirs(config, sql.texts), application_order(python))


def _remembered_migration(file: SourceFile, memo: ScanCache | None) -> PythonMigration | None:
    """What an unchanged file was last time (a PythonMigration whose framework is "" when it is none)."""
    if memo is None:
        return None
    try:
        record = memo.unchanged(file.path, os.stat(file.full_path))
    except OSError:
        return None
    known = memo.get(record.key, file.path) if record is not None else None
    return known if isinstance(known, PythonMigration) else None


# a file that could not be read or decoded: no migration, no key (the extraction reports it)
_UNREAD: tuple[None, None, tuple[int, int, int, int]] = (None, None, (-1, -1, -1, -1))


class _MigrationTask(NamedTuple):
    path: str
    full_path: str
    configured: tuple[str, ...]
    max_bytes: int


def _read_migration_task(
    task: _MigrationTask,
) -> tuple[PythonMigration | None, str | None, tuple[int, int, int, int]]:
    """A file that may be a migration, read: (its migration or None, content key, status); no key when
    it could not be read or decoded (the extraction reports it)."""
    read = read_source(task.full_path, task.path, task.max_bytes)
    if isinstance(read, Diagnostic):
        return _UNREAD
    data, status = read
    text = decode_python(data, task.path)
    if not isinstance(text, str):
        return _UNREAD
    key = content_key(task.path.encode() + b"\0" + data)
    return read_migration(task.path, text, task.configured), key, file_status(status)


def _memoised_catalog(
    root: str,
    config: Config,
    cli_legacy: Sequence[tuple[str, str]],
    sources: MigrationSources,
    memo: ScanCache | None,
) -> tuple[LegacyCatalog, list[Diagnostic], MigrationCatalog, list[str]]:
    """``build_catalog``, remembered by everything it reads: the migrations' text, the config's legacy
    names and schema, the command line. What is remembered leaves out the analysed statements, which
    the .sql analysis redoes only if its own memo misses."""
    if memo is None:
        return build_catalog(root, config, cli_legacy, sources)
    texts = sorted((p, content_key(t.encode("utf-8", "surrogatepass"))) for p, t in sources.sql.texts.items())
    python = [(m.path, content_key(m.sql.encode("utf-8", "surrogatepass"))) for m in sources.python]
    declared = (sorted(config.legacy.items()), sorted(config.not_legacy), config.source, list(cli_legacy))
    inputs = content_key(
        repr((texts, python, sources.dirs, config.default_schema, declared)).encode("utf-8", "surrogatepass")
    )
    known = memo.stage("catalog", inputs)
    if known is not None:
        objects, diagnostics, became, order, paths = known
        found = _RememberedHistory(tuple(objects), tuple(became), tuple(diagnostics), tuple(order))
        catalog = LegacyCatalog(objects, config.default_schema)
        return catalog, list(diagnostics), found, list(paths)  # type: ignore[return-value]
    catalog, diagnostics, found, paths = build_catalog(root, config, cli_legacy, sources)
    # plain values only: reading them back imports neither the SQL stage nor sqlglot
    became = tuple(
        (name, (p.file_index, p.offset, p.path, p.line)) for name, p in found.became_legacy.items()
    )
    memo.put_stage(
        "catalog", inputs, (catalog.objects, tuple(diagnostics), became, found.order, tuple(paths))
    )
    return catalog, diagnostics, found, paths


class _RememberedHistory:
    """A remembered MigrationCatalog, rebuilt (with the SQL stage) only if a stage that reads it runs."""

    def __init__(self, objects: tuple, became: tuple, diagnostics: tuple, order: tuple) -> None:
        self._parts = (objects, became, diagnostics, order)
        self._real: object | None = None

    def __getattr__(self, name: str) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._real is None:
            from auditor.sql.migrations import LegacyPoint, MigrationCatalog

            objects, became, diagnostics, order = self._parts
            points = {legacy: LegacyPoint(*point) for legacy, point in became}
            self._real = MigrationCatalog(objects, points, diagnostics, order)
        return getattr(self._real, name)


def build_catalog(
    root: str,
    config: Config,
    cli_legacy: Sequence[tuple[str, str]],
    sources: MigrationSources,
) -> tuple[LegacyCatalog, list[Diagnostic], MigrationCatalog, list[str]]:
    """Migrations, then config, then command line: later sources override earlier ones.

    The migrations are the .sql files of the migration directories, then the Python migrations."""
    schema = config.default_schema
    sql_texts = sources.sql.texts
    migration_paths = sorted(
        (p for p in sql_texts if any(p == d or p.startswith(d.rstrip("/") + "/") for d in sources.dirs)),
        key=migration_order,
    )
    history = [(p, sql_texts[p]) for p in migration_paths] + sources.python_texts
    from auditor.sql.migrations import catalog_from_migrations  # sqlglot

    from_migrations = catalog_from_migrations(history, schema)
    dismissed = {parse_object_name(name, schema) for name in config.not_legacy}
    objects = {str(o.legacy): o for o in from_migrations.objects if o.legacy not in dismissed}
    origins = (("config", list(config.legacy.items())), ("cli", list(cli_legacy)))
    for source, pairs in origins:
        for legacy, target in declared_pairs(pairs, schema, config.source if source == "config" else None):
            known = objects.get(str(legacy))
            columns = known.columns if known is not None and known.target == target else ()
            declared = f"declared in {'the config' if source == 'config' else '--legacy'}"
            evidence = (*known.evidence, declared) if known is not None else (declared,)
            computed = known.computed if known is not None and known.target == target else ()
            objects[str(legacy)] = LegacyObject(
                legacy, target, "name" if known is None else known.kind, source, columns, evidence, computed
            )
    catalog = LegacyCatalog(objects.values(), schema)
    return catalog, list(from_migrations.diagnostics), from_migrations, [p for p, _ in history]


def declared_pairs(
    pairs: Sequence[tuple[str, str]], schema: str, origin: str | None
) -> list[tuple[ObjectName, ObjectName]]:
    """Legacy names declared by a person, checked: valid names, no view that replaces itself, and one
    target per legacy object (``orders``, ``public.orders`` and ``ORDERS`` are one object)."""
    where = f"{origin}: legacy" if origin else "--legacy"
    out: list[tuple[ObjectName, ObjectName]] = []
    seen: dict[ObjectName, tuple[str, ObjectName]] = {}
    for old, new in pairs:
        try:
            legacy = parse_declared_name(old, schema)
            target = parse_declared_name(new, schema)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if legacy == target:
            raise ConfigError(f"{where}: {old!r} = {new!r}: a legacy view cannot be replaced by itself")
        earlier = seen.get(legacy)
        if earlier is not None and earlier[1] != target:
            raise ConfigError(
                f"{where}: {earlier[0]!r} and {old!r} are the same legacy object {legacy} "
                f"with different targets ({earlier[1]}, {target})"
            )
        seen[legacy] = (old, target)
        out.append((legacy, target))
    return out


# --- workers ----------------------------------------------------------------------------------------

# the pre-filter's verdicts on one file's text, recorded in the cache so an unchanged file is not read
NAMES_LEGACY, BUILDS_SQL, MAY_DEFINE_MODEL, HAS_SUPPRESSION, BUILDS_SQL_KNOWN = 1, 2, 4, 8, 16
# SQLAlchemy context read only when it can matter: a MetaData / __table_args__ schema when a parsed model
# imports its module; computed table names when some class is named like a legacy object
SETS_SCHEMA, COMPUTES_NAME, CLASS_NAMED_LIKE = 32, 64, 128


@dataclass(frozen=True, slots=True)
class _Task:
    path: str
    full_path: str
    data: bytes | None = None  # bytes the first round read (keyed as ``known``), kept by the main process
    parse: bool = False  # parse whatever the pre-filter says (a holder of a legacy name is used)
    # a holder round: the constants (name -> modules they come from); the file is parsed if it uses one
    holders: tuple[tuple[bytes, tuple[bytes, ...]], ...] = ()
    as_object: bool = False  # return the facts themselves, not pickled bytes (their bytes did not load)
    known: FileRecord | None = None  # the first round's record: its verdicts stand while the bytes do


@dataclass(frozen=True, slots=True)
class _Outcome:
    path: str
    record: FileRecord | None  # None: the file could not be read (``result`` says why)
    result: ModuleFacts | Diagnostic | None  # None: not parsed (no candidate) or already in the cache
    payload: bytes | None = None  # the facts, pickled once by the worker for the cache (``result`` None)
    uses_holder: bool = False  # a holder round's verdict
    analyses: RememberedSql | None = None  # the module's own SQL texts, analysed by the worker
    data: bytes | None = None  # a first-round file left unparsed: its bytes, for the holder rounds


@dataclass(frozen=True, slots=True)
class _Filters:
    names: NamePrefilter
    models: ModelClassPrefilter
    dynamic: bool  # look for dynamic SQL everywhere (LR005), not only in files naming a legacy object
    # calls of the sinks a team declared, with a non-literal argument
    declared: SinkCallPrefilter = field(default_factory=lambda: SinkCallPrefilter(()))

    def flags(self, path: str, data: bytes) -> int:
        data = _as_utf8(data)  # the byte-level pre-filters read UTF-16 text as UTF-8
        lowered = data.lower()
        flags = BUILDS_SQL_KNOWN if self.dynamic else 0
        if SUPPRESSION_MARK_BYTES in data:
            flags |= HAS_SUPPRESSION
        if self.names.matches(data, lowered):
            flags |= NAMES_LEGACY
        elif self.dynamic and (
            builds_dynamic_sql(lowered)
            or b'.sql"' in lowered
            or b".sql'" in lowered
            or b"/rest/v1/" in lowered
            or self.declared.matches(lowered)
        ):
            # dynamic SQL, SQL read from a .sql file (linked to that file's findings), a PostgREST URL, a
            # declared sink given a value that is not a literal
            flags |= BUILDS_SQL
        if self.models.matches(path, lowered):
            flags |= MAY_DEFINE_MODEL
        if self.models.sets_schema(lowered):
            flags |= SETS_SCHEMA
        if self.models.computes_name(lowered):
            flags |= COMPUTES_NAME
        if self.models.class_named_like(lowered):
            flags |= CLASS_NAMED_LIKE
        return flags

    def wanted(self, flags: int) -> bool:
        dynamic = BUILDS_SQL | COMPUTES_NAME  # a computed table name is dynamic: LR005 unless resolved
        return bool(flags & (NAMES_LEGACY | MAY_DEFINE_MODEL) or (self.dynamic and flags & dynamic))


class TreeNames:
    """What the paths of the scanned modules say, computed when a module is parsed (a warm scan parses
    none): the names their dotted names are made of (a folder `core-3.3.2` gives three), and every dotted
    name a module may be imported by (`models`, `app.models`, `src.app.models`)."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths

    @functools.cached_property
    def components(self) -> frozenset[str]:
        return frozenset(part for path in self.paths for part in re.split(r"[/.]", path[: -len(".py")]))

    @functools.cached_property
    def modules(self) -> frozenset[str]:
        return frozenset(name for path in self.paths for name in _module_names(path))


_WORKER: dict[str, object] = {}


def _init_worker(
    packs: RulePacks,
    pattern: re.Pattern[str],
    max_bytes: int,
    filters: _Filters,
    cache: ScanCache,
    names: TreeNames | None = None,
) -> None:
    _WORKER.update(
        keep=_KEPT_BYTES // worker_count(0, 1 << 30),  # a share for each core
        packs=packs,
        pattern=pattern,
        max_bytes=max_bytes,
        filters=filters,
        cache=cache,
        names=names,
    )


def _analyse(task: _Task) -> _Outcome:
    """Read a file once, key and pre-filter those bytes, and parse them when they can matter."""
    if task.data is None:
        read = read_source(task.full_path, task.path, int(_WORKER["max_bytes"]))  # type: ignore[call-overload]
        if isinstance(read, Diagnostic):
            return _Outcome(task.path, None, read)
        data, status = read
        stat_key = file_status(status)
    else:
        data, stat_key = task.data, (-1, -1, -1, -1)  # read by the first round, which recorded them
    filters: _Filters = _WORKER["filters"]  # type: ignore[assignment]
    if task.data is not None and task.known is not None:
        key = task.known.key
    else:
        key = content_key(task.path.encode() + b"\0" + data)
    if task.known is not None and task.known.key == key:  # a holder round: the pre-filter ran on these bytes
        record = FileRecord(stat_key, key, task.known.flags)
    else:
        record = FileRecord(stat_key, key, filters.flags(task.path, data))
    flags = record.flags
    cache: ScanCache = _WORKER["cache"]  # type: ignore[assignment]
    uses = bool(task.holders) and _uses_holder(data, dict(task.holders))
    # asked for the facts themselves (their cache entry did not load in the main process): parsed
    # whatever this worker's copy of the cache, taken when the pool started, still holds
    if not task.as_object and (
        not (task.parse or uses or filters.wanted(flags)) or cache.has(record.key, task.path)
    ):
        kept = None
        if not (task.holders or task.parse or filters.wanted(flags)):  # the first round leaves the file
            budget = int(_WORKER.get("keep", 0))  # type: ignore[call-overload]
            if len(data) <= budget:
                kept, _WORKER["keep"] = data, budget - len(data)
        return _Outcome(task.path, record, None, uses_holder=uses, data=kept)
    with _collected_once():
        result = _parse(task.path, data)
        analyses = _module_analyses(result) if not isinstance(result, Diagnostic) else None
    if not isinstance(result, Diagnostic) and not task.as_object:  # pickled once: the cache keeps the bytes
        try:
            payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            return _Outcome(task.path, record, None, payload, uses, analyses)
        except (RecursionError, MemoryError, pickle.PicklingError):
            pass
    return _Outcome(task.path, record, result, uses_holder=uses, analyses=analyses)


@contextlib.contextmanager
def _collected_once() -> Iterator[None]:
    """The cyclic garbage collector paused while one module is parsed and analysed, and one pass over
    the young objects after. The parse builds hundreds of thousands of objects that live until the file
    is done; the collector's automatic passes over them (the older generations scanned again as they
    grow) find nothing, and cost about a tenth of the extraction's time even at the console script's
    raised thresholds. What the file leaves behind in cycles (a nested function that calls itself) is all
    young: one pass frees it, so memory stays as it was."""
    if not gc.isenabled():  # paused by someone else: theirs to resume
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def _module_analyses(facts: ModuleFacts) -> RememberedSql | None:
    """The module's own SQL, analysed on this worker's core (the matching stage runs on one core)."""
    from auditor.python.resolve import module_sql_texts

    try:
        return analyses_of(module_sql_texts(facts))
    except Exception:  # the matching stage analyses the texts itself (and reports what fails there)
        return None


def _parse(rel: str, data: bytes) -> ModuleFacts | Diagnostic:
    from auditor.python.extract import extract_module  # imported by the runs that parse

    text = decode_python(data, rel)
    if isinstance(text, Diagnostic):
        return text
    names: TreeNames | None = _WORKER.get("names")  # type: ignore[assignment]
    try:
        return extract_module(
            rel,
            text,
            _WORKER["packs"],  # type: ignore[arg-type]
            _WORKER["pattern"],  # type: ignore[arg-type]
            names.components if names is not None else None,
            names.modules if names is not None else None,
        )
    except SyntaxError as exc:
        return Diagnostic(rel, exc.lineno, "syntax-error", f"cannot parse: {exc.msg}{_GRAMMAR}")
    except (RecursionError, MemoryError):
        return Diagnostic(rel, None, "syntax-error", "cannot parse: nesting too deep")
    except Exception as exc:  # one file's failure must not end the scan
        return Diagnostic(
            rel, None, "parse-error", f"could not analyse the file: {type(exc).__name__}: {exc}"
        )


# a file written for a newer Python fails here too: the grammar is that of the interpreter running the scan
_GRAMMAR = f" (parsed with Python {sys.version_info.major}.{sys.version_info.minor}'s grammar)"


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers fork where they can: they start with the main process's state (packs, filters, cache)."""
    return multiprocessing.get_context("fork" if os.name == "posix" else "spawn")


def worker_count(jobs: int, files: int) -> int:
    """Never more workers than cores or than files (0: all cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(jobs or cores, cores, files))


class _Extractor:
    """Runs file analysis in-process or on a pool of processes; a crashed worker costs only its file."""

    def __init__(
        self,
        jobs: int,
        init_args: tuple[object, ...],
        work: Callable[[_Task], _Outcome] = _analyse,
        initializer: Callable[..., None] | None = _init_worker,
    ) -> None:
        self.jobs = jobs
        self.args = init_args
        self.work = work
        self.initializer = initializer
        self.pool: ProcessPoolExecutor | None = None

    def run(self, tasks: list[_Task]) -> list[_Outcome]:
        jobs = worker_count(self.jobs, len(tasks))
        # a few tasks are not worth starting a pool for; once it runs (the holder rounds' few files, some
        # of them large migrations), two tasks already keep two cores busy
        if jobs <= 1 or len(tasks) < (_PARALLEL_THRESHOLD if self.pool is None else 2):
            if self.initializer is not None:
                self.initializer(*self.args)
            return [self.work(task) for task in tasks]
        # small chunks: files in path order differ widely in cost (a package's tests parse, its docs do
        # not), and with eight chunks a core one worker took last left the other idle for seconds
        chunk = max(1, len(tasks) // (jobs * 32))
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
            self.pool = ProcessPoolExecutor(
                jobs, mp_context=_pool_context(), initializer=self.initializer, initargs=self.args
            )
        return self.pool

    def begin(
        self, work: Callable[[list[_Item]], list[_Result]], items: list[_Item]
    ) -> list[Future[list[_Result]]]:
        """Start ``work`` on chunks of ``items`` on the pool, ahead of what is submitted after (no future
        when there are few items, or one core: `end` runs the work then)."""
        jobs = worker_count(self.jobs, 1 << 30)
        if jobs <= 1 or len(items) < _PARALLEL_THRESHOLD:
            return []
        pool = self._pool(jobs)
        size = max(_PARALLEL_THRESHOLD, len(items) // (jobs * 8))
        return [pool.submit(work, items[at : at + size]) for at in range(0, len(items), size)]

    def end(
        self,
        started: list[Future[list[_Result]]],
        work: Callable[[list[_Item]], list[_Result]],
        items: list[_Item],
    ) -> list[_Result]:
        """What `begin` started, or the work done here (a crashed worker: here, again)."""
        if not started:
            return work(items)
        try:
            return [result for future in started for result in future.result()]
        except BrokenProcessPool:
            self.close()
            return work(items)

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
    laps = options.timings or Timings()
    laps.start()
    packs = load_rule_packs(config.rule_packs, config.sinks)
    cache_dir = os.path.join(root, options.cache_dir) if options.cache_dir else None
    history = history_cache(cache_dir, config)  # also remembers the walk of the tree
    if history is not None:
        history.create_directory()
    found = discover(root, config.exclude, history)
    laps.lap("discover")
    diagnostics: list[Diagnostic] = list(found.diagnostics)
    py_files = [f for f in found.files if f.path.endswith(".py")]
    sources = read_migration_sources(found.files, config, history, options.jobs)
    laps.lap("migrations")
    sql_texts = sources.sql.texts
    diagnostics.extend(sources.sql.diagnostics)
    migration_dirs = sources.dirs
    # the live database compares the migrations' own statements: then the catalog is built afresh
    catalog, catalog_diagnostics, migration_info, migration_paths = _memoised_catalog(
        root, config, options.legacy, sources, history if options.database is None else None
    )
    if history is not None:
        history.save(paths={f.path for f in found.files})
    diagnostics.extend(catalog_diagnostics)
    reading = None
    if options.database is not None:
        reading = _read_database(options.database, catalog, migration_info, diagnostics)
        if reading is not None:
            catalog = reading.catalog
    if not catalog:
        raise ConfigError(
            "the legacy catalog is empty: no compatibility views in the migrations "
            f"({', '.join(migration_dirs) or 'none found'}), no `legacy` in the config, no --legacy OLD=NEW"
        )
    base_pattern = name_pattern(catalog.bare_names)
    laps.lap("catalog")
    cache = ScanCache(cache_dir, configuration_key(repr(packs), base_pattern.pattern))
    laps.lap("cache load")
    sql_result = _analyze_sql(
        [*sql_texts.items(), *sources.python_texts], migration_paths, catalog, migration_info, cache
    )
    dependents = _dependents(sql_result, catalog)
    scan_catalog = dependents.scan_catalog() if dependents is not None else catalog
    pattern = name_pattern(scan_catalog.bare_names)
    laps.lap("sql files")
    if pattern.pattern != base_pattern.pattern:  # names of objects built on legacy views join the scan
        cache.save()
        cache = ScanCache(cache_dir, configuration_key(repr(packs), pattern.pattern))
    filters = _Filters(
        NamePrefilter(scan_catalog.bare_names),
        ModelClassPrefilter(scan_catalog.bare_names),
        config.unresolved == "everywhere",
        SinkCallPrefilter(packs.declared_calls()),
    )
    # the SQL of unchanged code: no parser (here, before the workers start: they analyse new modules' SQL)
    remember_analyses(cache.stage("sql analyses", "by text"))
    tree = TreeNames([f.path for f in py_files])
    extractor = _Extractor(options.jobs, (packs, pattern, config.max_file_bytes, filters, cache, tree))
    # code in other languages: its mentions of legacy names are reported, never analysed; the files to read
    # are read and tested on the workers ahead of the Python modules (nothing needs them before the post-pass)
    others = other_files(found.other, filters.names, config.max_file_bytes, cache)
    read_them = functools.partial(
        read_others, names=filters.names, max_bytes=config.max_file_bytes, calls=_client_table_calls
    )
    try:
        started = extractor.begin(read_them, others.to_read)
        python = _extract_python(
            py_files,
            extractor,
            filters,
            progress,
            cache,
            pattern,
            frozenset(m.attribute for m in packs.mappings),
            laps,
            tree,
        )
        other_reads = extractor.end(started, read_them, others.to_read)
    finally:
        extractor.close()
    other_sources, other_diagnostics, other_left_out, client_calls = others.finish(
        other_reads, config.max_file_bytes, cache
    )
    diagnostics.extend(other_diagnostics)
    laps.lap("python: holder rounds")  # and the workers' CPU time: they end here
    diagnostics.extend(python.diagnostics)
    resolved = _resolve(python, scan_catalog, cache)
    findings, examined, inferred_sinks, sql_runs = resolved[:4]
    findings.extend(_held_back(resolved.held, py_files, python, cache, config.max_file_bytes))
    if dependents is not None:
        findings = [dependents.as_lr103(f) for f in findings]
        findings.extend(
            _dependent_uses(dependents, py_files, config.max_file_bytes, sql_texts, migration_paths)
        )
    findings = _in_context(findings, list(sql_result.findings), sources.python)
    findings = _run_by_python(findings, sql_runs, sql_texts)
    if filters.dynamic and client_calls:  # a web client's table call whose table is no string: LR005
        from auditor.python.javascript import unresolved_client_tables

        findings.extend(
            f for r in client_calls for f in unresolved_client_tables(r.path, r.language, r.dynamic)
        )
    diagnostics.extend(sql_result.diagnostics)
    if reading is not None:
        findings.extend(reading.findings(sql_result.db_objects))
    # recall at least grep's: every occurrence of a legacy name gets a verdict (LR006 when none fits)
    undecodable = [
        d.path for d in diagnostics if d.kind == "decode-error" and d.path.endswith((".py", ".sql"))
    ]
    # a script run again on every migrate is live code: its mentions are classified as any other's
    history = frozenset(p for p in migration_paths if not is_repeatable(p)) | {m.path for m in sources.python}
    laps.lap("resolve")
    mentions, unclassified = _reconcile(
        python, py_files, config.max_file_bytes, sql_texts, history, base_pattern, root, undecodable,
        findings, catalog, examined, cache, options.jobs, other_sources, resolved.columns,
    )  # fmt: skip
    laps.lap("occurrences")
    used = analyses_used()
    if used is not None:
        cache.put_stage("sql analyses", "by text", used)
    findings.extend(unclassified)
    cache.save(keep=set(python.keys.values()), paths=set(python.keys))  # after the last memoised stage
    laps.lap("cache save")
    findings = _with_snippets(findings, root, sql_texts)
    findings = _computed_column_rewrites(findings, catalog, root, sql_texts)
    suppression_files = sorted(
        {p for p, t in sql_texts.items() if SUPPRESSION_MARK in t}
        | set(python.suppressions)
        | {s.path for s in other_sources if s.marked}
        | {r.path for r in client_calls if r.marked}
    )
    findings.sort(key=report_order)
    laps.lap("snippets")
    all_diagnostics = sorted(diagnostics, key=lambda d: (d.path, d.line or 0, d.kind))
    unread = [LeftOut(d.path, d.kind) for d in diagnostics if d.kind in _UNREAD_KINDS]
    return ScanResult(
        root=root,
        catalog=catalog.objects,
        findings=tuple(findings),
        diagnostics=tuple(all_diagnostics),
        files_scanned=len(py_files) + len(sql_texts),
        db_objects=tuple(sql_result.db_objects),
        suppression_files=tuple(suppression_files),
        database=reading.evidence if reading is not None else None,
        unanalysed=unanalysed_files(root, all_diagnostics, catalog),
        unresolved_accepted=options.accept_unresolved,
        left_out=tuple(sorted([*found.left_out, *unread, *other_left_out], key=lambda e: (e.path, e.reason))),
        mentions=tuple(mentions),
        inferred_sinks=inferred_sinks,
    )


def _client_table_calls(language: str, data: bytes) -> tuple[tuple[int, int, str, str], ...]:
    """A web client's table calls whose table is not a string (on the worker that reads the file; the
    JavaScript reader is imported by the scans that read such files, not by a warm one)."""
    from auditor.python.javascript import client_table_calls

    try:
        return client_table_calls(language, data)
    except Exception:  # a reading that fails costs this file's LR005s, never the scan (its mentions stand)
        return ()


def _reconcile(
    python: _PythonFacts,
    py_files: Sequence[SourceFile],
    max_bytes: int,
    sql_texts: dict[str, str],
    history: frozenset[str],
    pattern: re.Pattern[str],
    root: str,
    undecodable: list[str],
    findings: list[Finding],
    catalog: LegacyCatalog,
    examined: dict[tuple[str, int, int], str],
    cache: ScanCache,
    jobs: int,
    other: Sequence[OtherSource] = (),
    columns: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[list[Mention], list[Finding]]:
    """The post-pass over every occurrence, memoised file by file on what it reads there: the file's
    content, its findings and ruled-out occurrences, and the catalog (a warm scan neither re-reads nor
    re-tokenizes, and an edit re-classifies only the files whose inputs changed)."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    ruled_out: dict[str, list[tuple[tuple[str, int, int], str]]] = {}
    for place, reason in examined.items():
        ruled_out.setdefault(place[0], []).append((place, reason))
    columns = dict(columns or {})
    catalog_key = repr((catalog.objects, sorted(columns.items())))
    content: dict[str, str | None] = {p: python.keys.get(p) for p in python.named}
    for path, text in sql_texts.items():
        if pattern.search(text):
            content[path] = content_key(text.encode("utf-8", "surrogatepass"))
    content.update((path, "undecodable") for path in undecodable)
    other_by_path = {source.path: source for source in other}
    content.update((path, source.key) for path, source in other_by_path.items())

    def inputs(path: str) -> str:
        parts = (catalog_key, path, content[path], path in history, by_path.get(path), ruled_out.get(path))
        return content_key(repr(parts).encode("utf-8", "surrogatepass"))

    remembered: dict[str, tuple[str, tuple[Mention, ...], tuple[Finding, ...]]] = (
        cache.stage("mentions", "by file") or {}
    )
    kept: dict[str, tuple[str, tuple[Mention, ...], tuple[Finding, ...]]] = {}
    keys = {path: inputs(path) for path in content}
    stale: list[str] = []
    for path in sorted(content):
        known = remembered.get(path)
        if known is not None and known[0] == keys[path]:
            kept[path] = known
        else:
            stale.append(path)
    if stale:
        # the SQL tokenizer: only when it must run
        from auditor.python.reconcile import MentionSource, reconcile_mentions

        wanted = set(stale)
        named = [p for p in python.named if p in wanted and p not in undecodable]
        texts = _mention_sources(
            named,
            py_files,
            max_bytes,
            {p: t for p, t in sql_texts.items() if p in wanted},
            history,
            pattern,
            _extracted_spans(python, cache),
        )
        sources = [*texts, *_undecodable_sources(root, [p for p in undecodable if p in wanted])]
        for path, source in sorted(other_by_path.items()):
            text = source.read_text() if path in wanted else None
            if text is not None:
                sources.append(MentionSource(path, text, "other", language=source.language))
        relevant = [f for p in stale for f in by_path.get(p, ())]
        mentions, unclassified = _reconcile_on_cores(
            jobs, reconcile_mentions, sources, relevant, catalog, pattern, ruled_out, columns
        )
        fresh_mentions: dict[str, list[Mention]] = {}
        fresh_lr006: dict[str, list[Finding]] = {}
        for mention in mentions:
            fresh_mentions.setdefault(mention.path, []).append(mention)
        for finding in unclassified:
            fresh_lr006.setdefault(finding.path, []).append(finding)
        for path in stale:
            kept[path] = (keys[path], tuple(fresh_mentions.get(path, ())), tuple(fresh_lr006.get(path, ())))
    cache.put_stage("mentions", "by file", kept)
    all_mentions = [m for path in sorted(kept) for m in kept[path][1]]
    all_mentions.sort(key=lambda m: (m.path, m.line, m.column))
    return all_mentions, [f for path in sorted(kept) for f in kept[path][2]]


_Reconciler = Callable[
    [
        list["MentionSource"],
        list[Finding],
        LegacyCatalog,
        re.Pattern[str],
        dict[tuple[str, int, int], str],
        dict[str, tuple[str, ...]],
    ],
    tuple[list[Mention], list[Finding]],
]


def _reconcile_on_cores(
    jobs: int,
    reconcile: _Reconciler,
    sources: list[MentionSource],
    findings: list[Finding],
    catalog: LegacyCatalog,
    pattern: re.Pattern[str],
    ruled_out: dict[str, list[tuple[tuple[str, int, int], str]]],
    columns: dict[str, tuple[str, ...]],
) -> tuple[list[Mention], list[Finding]]:
    """The post-pass, file by file, on every core when there are many files (each file's verdicts depend
    only on its own text, findings and ruled-out occurrences)."""
    workers = worker_count(jobs, len(sources) // _PARALLEL_THRESHOLD)
    shares: list[list[MentionSource]] = [[] for _ in range(workers)]
    sizes = [0] * workers
    for source in sorted(sources, key=lambda s: len(s.text), reverse=True):  # largest first, to the least
        least = sizes.index(min(sizes))  # loaded share: shares of about equal work
        shares[least].append(source)
        sizes[least] += len(source.text)
    calls = []
    for share in shares:
        paths = {s.path for s in share}
        examined = {place: why for p in paths for place, why in ruled_out.get(p, ())}
        calls.append((share, [f for f in findings if f.path in paths], catalog, pattern, examined, columns))
    if workers == 1:
        return reconcile(*calls[0])
    try:
        with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
            shared = list(pool.map(_share, [reconcile] * workers, calls))
        for _, analysed in shared:
            if analysed is not None:
                adopt_analyses(analysed)
        done = [result for result, _ in shared]
    except BrokenProcessPool:
        done = [reconcile(*call) for call in calls]
    mentions = [m for share_mentions, _ in done for m in share_mentions]
    mentions.sort(key=lambda m: (m.path, m.line, m.column))
    return mentions, [f for _, unclassified in done for f in unclassified]


def _share(
    reconcile: _Reconciler, args: tuple[Any, ...]
) -> tuple[tuple[list[Mention], list[Finding]], RememberedSql | None]:
    """One worker's share of the post-pass, and the SQL analyses it made or reused (kept by the main
    process for the next scan)."""
    start_share()
    return reconcile(*args), analyses_used()


def _mention_sources(
    named: Iterable[str],
    py_files: Sequence[SourceFile],
    max_bytes: int,
    sql_texts: dict[str, str],
    history: frozenset[str],
    pattern: re.Pattern[str],
    spans: Callable[[str, bytes], list[tuple[int, int]] | None] = lambda path, data: None,
) -> Iterator[MentionSource]:
    """The scanned files that name a legacy object (the name pre-filter's verdict), for the post-pass
    that reconciles every occurrence; migrations are history. ``spans``: a Python file's statement
    spans as its extraction found them, when these bytes are the ones it parsed."""
    by_path = {f.path: f for f in py_files}
    for path in sorted(named):
        file = by_path.get(path)
        data = read_bytes(file.full_path, path, max_bytes) if file is not None else None
        text = decode_python(data, path) if isinstance(data, bytes) else None
        if isinstance(text, str):
            yield _source(path, text, "python", path in history, spans(path, data))  # type: ignore[arg-type]
    for path, text in sql_texts.items():
        if pattern.search(text):
            yield _source(path, text, "sql", path in history)


def _dependents(sql_result: _SqlAnalysis, catalog: LegacyCatalog) -> DependentObjects | None:
    """The objects built on legacy views (transitively), or None when there are none."""
    if not sql_result.definitions:
        return None
    from auditor.sql.dependents import DependentObjects, built_on_legacy  # sqlglot-based
    from auditor.sql.files import Definition

    definitions = [Definition(*d) for d in sql_result.definitions]
    built = built_on_legacy(definitions, list(sql_result.findings), catalog)
    dependents = DependentObjects(built, catalog)
    return dependents if dependents.chains or dependents.functions else None


class _Resolved(NamedTuple):
    findings: list[Finding]
    examined: dict[tuple[str, int, int], str]  # occurrences looked at and ruled out: why
    sinks: tuple[InferredSink, ...]  # the helpers inferred as table sinks
    runs: tuple[tuple[str, str, str], ...]  # the .sql files Python runs
    held: tuple[HeldHelper, ...]  # LR005s that calls in the modules not parsed may bring back
    columns: dict[str, tuple[str, ...]]  # legacy name -> its columns, where the scanned code gives them all


def _resolve(python: _PythonFacts, catalog: LegacyCatalog, cache: ScanCache) -> _Resolved:
    """Cross-module resolution, memoised by the content of every parsed file and the catalog."""
    keys = python.keys  # the resolution reads only the facts: keyed by them (an edit may leave them equal)
    read = sorted((p, _facts_key(p, keys[p], cache) if p in keys else None) for p in python.fact_paths)
    inputs = content_key(repr((catalog.objects, read)).encode())
    cached = cache.stage("resolution", inputs)
    if cached is not None:
        found, examined, sinks, runs, held, columns = cached
        return _Resolved(list(found), dict(examined), sinks, runs, held, columns)
    from auditor.python.resolve import PendingPosition, Resolver, apply_positions, one_per_occurrence

    facts = python.all_facts()
    resolution = Resolver(facts, catalog).resolve()
    findings = resolution.findings
    held = tuple(resolution.held)
    # only the modules of findings located at an expression have their positions unpacked
    wanted = {item.path for item in resolution.pending}
    wanted.update(f.path for h in held for f, node in h.findings if node is not None)
    positions = {f.path: f.node_positions for f in facts if f.path in wanted}
    findings = apply_positions(findings, resolution.pending, positions)
    # the held LR005s get their positions too (one pass over all of them, in order)
    pairs = [pair for h in held for pair in h.findings]
    pending = [PendingPosition(i, f.path, n) for i, (f, n) in enumerate(pairs) if n is not None]
    placed = iter(apply_positions([f for f, _ in pairs], pending, positions))
    held = tuple(replace(h, findings=tuple((next(placed), None) for _ in h.findings)) for h in held)
    findings = one_per_occurrence(findings)
    sinks, runs = tuple(resolution.sinks), tuple(resolution.sql_files)
    columns = resolution.columns
    cache.put_stage("resolution", inputs, (tuple(findings), resolution.examined, sinks, runs, held, columns))
    return _Resolved(findings, resolution.examined, sinks, runs, held, columns)


def _held_back(
    held: tuple[HeldHelper, ...],
    files: list[SourceFile],
    python: _PythonFacts,
    cache: ScanCache,
    max_bytes: int,
) -> list[Finding]:
    """The held LR005s of the methods that a module the scan did not parse may call with a value it cannot
    tell. Which file calls which held helper is remembered per file content: an unchanged file is not read."""
    if not held:
        return []
    from auditor.python.unparsed_callers import CallProbe, also_called

    probe = CallProbe(held)
    signature = content_key(repr([(h.method, h.cls, h.position, h.parameter) for h in held]).encode())
    known: dict[str, tuple[str, dict[int, int]]] = cache.stage("callers:" + signature, signature) or {}
    parsed = set(python.fact_paths)
    verdicts: dict[str, tuple[str, dict[int, int]]] = {}
    for file in files:
        key = python.keys.get(file.path)
        if file.path in parsed or key is None:
            continue
        verdict = known.get(file.path)
        if verdict is None or verdict[0] != key:
            data = read_bytes(file.full_path, file.path, max_bytes)
            if isinstance(data, Diagnostic):
                continue  # diagnosed where it was read first (an unanalysed file blocks on its own)
            verdict = (key, probe.unknown_calls(data))
        verdicts[file.path] = verdict
    cache.put_stage("callers:" + signature, signature, verdicts)
    restored: list[Finding] = []
    for index, helper in enumerate(held):
        where = next(((p, v[1][index]) for p, v in sorted(verdicts.items()) if index in v[1]), None)
        if where is None:
            continue
        place = f"{where[0]}:{where[1]}" if where[1] else where[0]
        unseen = "(a module not analysed) with a value the scan cannot tell"
        why = f"`{helper.label}` is also called in {place} {unseen}"
        restored.extend(also_called(finding, why) for finding, _ in helper.findings)
    return restored


class _SqlAnalysis(NamedTuple):
    findings: tuple[Finding, ...]
    db_objects: tuple[DbObject, ...]
    diagnostics: tuple[Diagnostic, ...]
    # views and functions left defined: (label, kind, name, depends on), plain values for the cache
    definitions: tuple[tuple[str, str, ObjectName, tuple[ObjectName, ...]], ...] = ()


def _run_by_python(
    findings: list[Finding], runs: Sequence[tuple[str, str, str]], sql_texts: dict[str, str]
) -> list[Finding]:
    """A .sql file that Python reads by a literal path and runs: its findings name the block that runs it."""
    runners: dict[str, list[str]] = {}
    for py_path, block, name in runs:
        near = os.path.normpath(os.path.join(os.path.dirname(py_path), name)).replace(os.sep, "/")
        found = [near] if near in sql_texts else [p for p in sql_texts if p == name or p.endswith("/" + name)]
        if len(found) == 1:
            runners.setdefault(found[0], []).append(block)
    if not runners:
        return findings
    out = []
    for finding in findings:
        blocks = runners.get(finding.path)
        if blocks and finding.rule == "LR101":
            ran = ", ".join(f"`{b}`" for b in sorted(set(blocks)))
            finding = replace(
                finding, via=(*finding.via, *sorted(set(blocks))), message=f"{finding.message} Run by {ran}."
            )
        out.append(finding)
    return out


def _analyze_sql(
    sql_texts: Sequence[tuple[str, str]],
    migration_paths: list[str],
    catalog: LegacyCatalog,
    migration_info: object,
    cache: ScanCache,
) -> _SqlAnalysis:
    """The .sql files' findings and database objects, memoised by their text and the catalog."""
    texts = sorted(sql_texts)
    inputs = content_key(
        repr((catalog.objects, texts, sorted(migration_paths))).encode("utf-8", "surrogatepass")
    )
    cached = cache.stage("sql", inputs)
    if cached is not None:
        return cached
    from auditor.sql.files import analyze_sql_files  # sqlglot: imported only when there is SQL to analyse

    found = analyze_sql_files(texts, frozenset(migration_paths), catalog, migration_info)  # type: ignore[arg-type]
    # kept as core values only: reading the cache must not import the SQL stage (and sqlglot)
    definitions = tuple((d.label, d.kind, d.name, d.depends_on) for d in found.definitions)
    result = _SqlAnalysis(
        tuple(found.findings), tuple(found.db_objects), tuple(found.diagnostics), definitions
    )
    cache.put_stage("sql", inputs, result)
    return result


def _read_database(
    request: DatabaseRequest, catalog: LegacyCatalog, migrations: MigrationCatalog, out: list[Diagnostic]
) -> LiveReading | None:
    """The live database's reading; unreadable: an error (``required``) or a diagnostic and None."""
    from auditor.database.witness import read_database  # psycopg: only with a database

    try:
        reading = read_database(request, catalog, migrations)
    except DatabaseError as exc:
        if request.required:
            raise ConfigError(str(exc)) from None
        out.append(Diagnostic("db:", None, "database", f"{exc} (static analysis only)"))
        return None
    if not reading.evidence.usage_observed:
        out.append(Diagnostic("db:pg_stat_statements", None, "database-usage",
                              f"usage unknown: {reading.evidence.usage_note}"))  # fmt: skip
    return reading


def unanalysed_files(
    root: str, diagnostics: Iterable[Diagnostic], catalog: LegacyCatalog
) -> tuple[UnanalysedFile, ...]:
    """The files whose content was not analysed, each with the legacy objects its text names (the
    pre-filter's test: whole word, any case); a file that cannot be read at all may name any."""
    by_bare: dict[str, list[ObjectName]] = {}
    for obj in catalog.objects:
        by_bare.setdefault(obj.legacy.name.lower(), []).append(obj.legacy)
    prefilter = NamePrefilter(catalog.bare_names)
    out: dict[str, UnanalysedFile] = {}
    for diag in diagnostics:
        if diag.kind not in UNANALYSED_KINDS or diag.path in out:
            continue
        words = names_in_file(os.path.join(root, diag.path), prefilter)
        names = sorted({n for w in words or () for n in by_bare.get(w, ())}, key=str)
        out[diag.path] = UnanalysedFile(diag.path, diag.kind, diag.message, tuple(names), words is None)
    return tuple(out[p] for p in sorted(out))


_UNREAD_KINDS = frozenset({"too-large", "binary"})  # diagnostics of files that were left out unread


def _dependent_uses(
    dependents: DependentObjects,
    py_files: Sequence[SourceFile],
    max_bytes: int,
    sql_texts: dict[str, str],
    migration_paths: Sequence[str],
) -> list[Finding]:
    """LR103 for calls of dependent functions in Python, and for uses of dependent objects in .sql files
    that are not migrations."""
    from auditor.python.dependents import function_uses
    from auditor.sql.dependents import function_call_pattern
    from auditor.sql.refs import analyze_sql

    uses: list[Finding] = []
    functions = dependents.functions
    if functions:
        watch = NamePrefilter(functions)
        pattern = function_call_pattern(functions)
        for file in py_files:
            data = read_bytes(file.full_path, file.path, max_bytes)
            if not isinstance(data, bytes) or not watch.matches(data, data.lower()):
                continue
            text = decode_python(data, file.path)
            if isinstance(text, str):
                for use in function_uses(file.path, text, pattern, functions):
                    span = Span(use.line, use.column, use.end_line, use.end_column)
                    uses.append(dependents.use(use.function, file.path, span, use.block, Confidence.MEDIUM))
    if dependents.chains:
        names = name_pattern(name.name for name in dependents.chains)
        migrations = frozenset(p for p in migration_paths if not is_repeatable(p))
        for path, text in sql_texts.items():
            if path not in migrations and names.search(text):
                uses.extend(dependents.sql_uses(path, text, analyze_sql(text)))
    return uses


def _in_context(
    python: list[Finding], sql: list[Finding], migrations: list[PythonMigration]
) -> list[Finding]:
    """Findings in Python migration steps are history; the objects those migrations leave (LR102) block."""
    by_path = {m.path: m for m in migrations}
    out = []
    for finding in python:
        migration = by_path.get(finding.path)
        if migration is not None and migration.holds(finding.block):
            finding = replace(finding, context=MIGRATION)
        out.append(finding)
    # the snippet of a Python migration's LR102 is its own line, not the SQL kept in place
    out.extend(replace(f, snippet="") if f.path in by_path else f for f in sql)
    return out


def _as_utf8(data: bytes) -> bytes:
    """UTF-16 text with a byte order mark as UTF-8, for the byte-level pre-filters; anything else as is."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = utf16_text(data, "")
        if isinstance(text, str):
            return text.encode("utf-8")
    return data


def _source(
    path: str, text: str, kind: str, migration: bool, spans: list[tuple[int, int]] | None = None
) -> MentionSource:
    from auditor.python.reconcile import MentionSource

    return MentionSource(path, text, kind, migration, spans)


def _extracted_spans(
    python: _PythonFacts, cache: ScanCache
) -> Callable[[str, bytes], list[tuple[int, int]] | None]:
    """A file's statement spans from its cached facts, when the bytes read now have the content key of
    those the facts were extracted from (else the post-pass parses the file itself)."""

    def spans(path: str, data: bytes) -> list[tuple[int, int]] | None:
        key = python.keys.get(path)
        if key is None or content_key(path.encode() + b"\0" + data) != key:
            return None
        facts = cache.get(key, path)
        packed = getattr(facts, "statement_spans", None)
        if not isinstance(packed, bytes):
            return None
        from auditor.python.extract import unpack_spans

        return unpack_spans(packed)

    return spans


def _undecodable_sources(root: str, paths: Iterable[str]) -> Iterator[MentionSource]:
    """A file that could not be decoded is read leniently so that its occurrences still get a verdict."""
    for path in sorted(set(paths)):
        data = read_bytes(os.path.join(root, path), path, 1 << 30)
        if isinstance(data, bytes):
            yield _source(path, data.decode("utf-8", "replace"), "undecodable", False)


def _read_sql(file: SourceFile, max_bytes: int) -> str | Diagnostic:
    data = read_bytes(file.full_path, file.path, max_bytes)
    return data if isinstance(data, Diagnostic) else decode_sql(data, file.path)


@dataclass
class _PythonFacts:
    facts: list[ModuleFacts]
    diagnostics: list[Diagnostic]
    suppressions: list[str]
    keys: dict[str, str]  # path -> content key, for every file read (or known unchanged)
    named: list[str] = field(default_factory=list)  # files whose text names a legacy object
    fact_paths: list[str] = field(default_factory=list)  # the files of ``facts``, in order
    loader: Callable[[], list[ModuleFacts]] | None = None  # facts known only by path: loads them

    def all_facts(self) -> list[ModuleFacts]:
        if self.loader is not None:
            self.facts, self.loader = self.loader(), None
        return self.facts


def _extract_python(
    files: list[SourceFile],
    extractor: _Extractor,
    filters: _Filters,
    progress: Callable[[str, int, int], None] | None,
    cache: ScanCache,
    pattern: re.Pattern[str],
    mapping_attributes: frozenset[str],
    laps: Timings,
    tree: TreeNames,
) -> _PythonFacts:
    """Parse only files that can hold a reference: they name a legacy object, build SQL around a
    table keyword, or use a constant that (transitively) holds a legacy name. A file whose status is
    unchanged since the last scan is not read: its content key and pre-filter verdicts are recorded."""
    out = _PythonFacts([], [], [], {})
    records: dict[str, FileRecord] = {}
    kept = _KeptBytes()  # the bytes of files the first round read and left unparsed
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
    _collect(extractor.run(to_read), cache, records, results, out.diagnostics, kept)
    lost = [  # unchanged files whose result is no longer in the cache
        _Task(f.path, f.full_path)
        for f in files
        if f.path in records
        and f.path not in results
        and filters.wanted(records[f.path].flags)
        and not cache.has(records[f.path].key, f.path)
    ]
    _collect(extractor.run(lost), cache, records, results, out.diagnostics)
    laps.lap("python: read and parse")
    by_path = {f.path: f for f in files}
    out.keys = {path: record.key for path, record in records.items()}
    out.suppressions = [p for p in by_path if p in records and records[p].flags & HAS_SUPPRESSION]
    out.named = [p for p in by_path if p in records and records[p].flags & NAMES_LEGACY]
    views = _RoundsViews(cache, pattern)
    if _remembered_rounds(out, records, results, cache, filters, views):
        return out  # every file as when the rounds last ran: their outcome is known, no facts are loaded
    round_paths = [p for p in by_path if p in records and filters.wanted(records[p].flags)]
    remaining = [p for p in by_path if p in records and not filters.wanted(records[p].flags)]
    if any(records[p].flags & CLASS_NAMED_LIKE for p in records):  # computed names may be legacy ones
        computed = {p for p in remaining if records[p].flags & (COMPUTES_NAME | CLASS_NAMED_LIKE)}
        round_paths += sorted(computed)
        remaining = [p for p in remaining if p not in computed]
    helpers: dict[str, set[str]] = {}
    helper_functions: set[str] = set()
    wanted_receivers: set[str] = set()  # objects a sink is called on, whose type their module decides
    wanted_functions: set[str] = set()  # functions of scanned modules a legacy name is passed to
    on_demand: set[str] = set()  # files parsed only because they define such functions
    named = set(out.named)
    diagnosed: list[str] = []  # files whose content could not be analysed (a cached diagnostic)
    table_classes: set[str] = set()
    from auditor.python.extract import ModuleFacts  # the rounds read facts: the extractor's classes

    while round_paths:
        new_facts = []
        unreadable = [  # a cache entry that did not load: parsed again, its facts kept as objects
            _Task(p, by_path[p].full_path, parse=True, as_object=True)
            for p in round_paths
            if p not in results and cache.get(records[p].key, p) is None
        ]
        _collect(extractor.run(unreadable), cache, records, results, out.diagnostics)
        for path in round_paths:
            result = results.get(path) or cache.get(records[path].key, path)
            if isinstance(result, ModuleFacts):
                new_facts.append(result)
            elif isinstance(result, Diagnostic):
                out.diagnostics.append(result)
                diagnosed.append(path)
        out.facts.extend(new_facts)
        holders = _holder_names(new_facts, pattern, mapping_attributes)
        for name, homes in _table_holders(new_facts, pattern, table_classes).items():
            holders.setdefault(name, set()).update(homes)
        # what a module parsed only for the functions a legacy name is passed to makes parsed in turn: in
        # legacy-files mode nothing (the callers that pass legacy names are parsed already, and LR005s
        # are looked for only near them); else, as for any module, the users of its helpers (their
        # arguments decide its LR005s) and the modules its types and schemas come from
        driving = new_facts if filters.dynamic else [f for f in new_facts if f.path not in on_demand]
        for name, homes in _helper_names(driving, out.facts, helpers, helper_functions).items():
            holders.setdefault(name, set()).update(homes)
        if not remaining:
            break
        users = (
            _holder_users(remaining, holders, by_path, records, extractor, cache, results, out, kept)
            if holders
            else []
        )
        used = set(users)
        schemas = [p for p in remaining if p not in used and records[p].flags & SETS_SCHEMA]
        if schemas:  # a module that sets a schema is read when a parsed module imports it
            imported = _import_prefixes(driving)
            schemas = [p for p in schemas if _module_names(p) & imported]
        receivers = _receiver_modules(driving, wanted_receivers, remaining, used, named, tree.modules)
        used.update(receivers)
        homes = _callee_homes(new_facts, wanted_functions, named, tree.modules, out.facts)
        demanded = [p for p in remaining if p not in used and _module_names(p) & homes] if homes else []
        on_demand.update(demanded)
        round_paths = users + schemas + receivers + demanded  # parsed by the loop (not yet in the cache)
        used.update(schemas)
        used.update(demanded)
        remaining = [p for p in remaining if p not in used]
    out.keys = {path: record.key for path, record in records.items()}
    out.fact_paths = [f.path for f in out.facts]
    if cache.persistent:  # remembered for the next scan (the views cost a pass over every module's facts)
        inputs = _rounds_inputs(records, views, filters)
        views.save()
        cache.put_stage("rounds", inputs, (tuple(out.fact_paths), tuple(diagnosed)))
    return out


def _import_prefixes(facts: list[ModuleFacts]) -> set[str]:
    """Every dotted prefix of what these modules import (`a`, `a.b`, `a.b.C` for `from a.b import C`)."""
    prefixes: set[str] = set()
    for module in facts:
        for target in module.imports.values():
            parts = target.split(".")
            prefixes.update(".".join(parts[: k + 1]) for k in range(len(parts)))
    return prefixes


def _receiver_modules(
    new: list[ModuleFacts],
    wanted: set[str],
    remaining: list[str],
    used: set[str],
    named: set[str],
    modules_known: frozenset[str],
) -> list[str]:
    """The modules that define the objects the parsed modules call a sink on (Flask-SQLAlchemy's `db`,
    imported), or call a method of with a legacy name (`db.count("orders")`: a helper reached through
    the object's type), and that re-export them, round after round: the resolver reads their type there."""
    for module in new:
        wanted.update(site.receiver for site in module.sites if site.receiver)
        if module.path not in named:
            continue
        for callee in module.legacy_callees:
            parts = callee.split(".")
            owner, home = ".".join(parts[:-1]), ".".join(parts[:-2])
            name = parts[-2] if len(parts) >= 3 else ""
            camel = name[:1].isupper() and not name.isupper()  # a class: its module defines no object
            if name and not camel and home in modules_known and owner not in modules_known:
                wanted.add(owner)
    for module in new:  # a module that re-exports a wanted object: the one it imports it from
        prefix = module.module + "."
        for name in [
            w[len(prefix) :] for w in wanted if w.startswith(prefix) and "." not in w[len(prefix) :]
        ]:
            target = module.imports.get(name)
            if target is not None:
                wanted.add(target)
    modules = {w.rpartition(".")[0] for w in wanted}
    return [p for p in remaining if p not in used and _module_names(p) & modules]


def _callee_homes(
    new: list[ModuleFacts],
    wanted: set[str],
    named: set[str],
    known: frozenset[str],
    parsed: list[ModuleFacts],
) -> set[str]:
    """The modules that define the functions a parsed module passes a legacy name to (`count_rows(request,
    ["orders"])`, imported from a module that names no legacy object), round after round: the call is
    resolved with the function's summary, read there."""
    from auditor.python.extract import FIXTURE_CALLEE  # the rounds read facts: the extractor is loaded

    homes = {_wanted_home(w, known) for w in wanted}
    for module in new:
        if module.path in named:
            wanted.update(c for c in module.legacy_callees if _home_of(c, known))
            if any(c.startswith(FIXTURE_CALLEE) for c in module.legacy_callees):
                # a test passes a legacy name to what a pytest fixture returns: the conftest files define it
                wanted.update(f"{m}.fixture" for m in known if m.rpartition(".")[2] == "conftest")
    _typed_by_bases(new, named, parsed, wanted, known)
    return {_wanted_home(w, known) for w in wanted} - homes  # a module found before is parsed already


def _wanted_home(wanted: str, known: frozenset[str]) -> str:
    if wanted.startswith(_BASE):  # the module of the base class
        module = wanted[len(_BASE) :].partition(" ")[0].rpartition(".")[0]
        return module if module in known else ""
    if wanted.startswith(_TYPED):
        return _longest_module(wanted[len(_TYPED) :], known)
    return _home_of(wanted, known)


_BASE = "\0base "  # in the wanted set: "<mark>module.Class attr.method", an attribute a base class may type
# in the wanted set: "<mark>module.Class.attr.rest", a path through a type (an attribute's, or what a method
# returns) that goes on in the module of that type
_TYPED = "\0typed "


def _longest_module(path: str, known: frozenset[str]) -> str:
    """The longest dotted prefix of ``path`` that a scanned module is imported by ("" when none)."""
    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:end])
        if module in known:
            return module
    return ""


def _typed_by_bases(
    new: list[ModuleFacts],
    named: set[str],
    parsed: list[ModuleFacts],
    wanted: set[str],
    known: frozenset[str],
) -> None:
    """`self.db.insert("orders")` in a class whose base class, in a module of its own, types `self.db`
    (`db: Database`, or `self.db = db` with `db: Database`): that module is wanted, base after base, and
    then the module of the type (its method's summary resolves the call). A base in a module parsed
    before is followed at once. A type that is itself a path (`self.store`, typed
    `hs.get_datastores().main` with `hs: HomeServer`) goes on in the module of its first class, hop after
    hop (what `HomeServer.get_datastores` returns, that class's `main`, ...)."""
    modules = {facts.module: facts for facts in parsed}
    pending = [
        (module, callee[len(module.module) + 1 :])
        for module in new
        if module.path in named
        for callee in module.legacy_callees
        if callee.startswith(module.module + ".")
    ]
    for entry in [w for w in wanted if w.startswith(_BASE)]:
        cls, _, rest = entry[len(_BASE) :].partition(" ")
        home = modules.get(cls.rpartition(".")[0])
        if home is not None:
            pending.append((home, f"{cls.rpartition('.')[2]}.{rest}"))
    for entry in [w for w in wanted if w.startswith(_TYPED)]:
        path = entry[len(_TYPED) :]
        home = modules.get(_longest_module(path, known))
        if home is not None:
            pending.append((home, path[len(home.module) + 1 :]))
    seen: set[tuple[str, str]] = set()
    while pending:
        module, chain = pending.pop()
        if (module.module, chain) in seen:
            continue
        seen.add((module.module, chain))
        cls, _, rest = chain.partition(".")
        attribute, _, method = rest.partition(".")
        if not method or cls not in module.classes:
            continue
        held = module.attribute_types.get(f"{cls}.{attribute}")
        if held:  # typed here: the type's module has the method, or the path goes on there
            target = f"{held}.{method}"
            wanted.add(target)
            home = _longest_module(target, known)
            if home in modules:
                pending.append((modules[home], target[len(home) + 1 :]))
            elif home:
                wanted.add(f"{_TYPED}{target}")
            continue
        for base in module.classes[cls]:  # as the extraction qualified them (`app.base.Store`)
            local = base in module.classes
            qualified = f"{module.module}.{base}" if local else module.imports.get(base, base)
            if "." not in qualified:
                continue
            wanted.add(f"{_BASE}{qualified} {rest}")
            home = modules.get(qualified.rpartition(".")[0])
            if home is not None:  # parsed already: on up at once
                pending.append((home, f"{qualified.rpartition('.')[2]}.{rest}"))


def _home_of(callee: str, modules_known: frozenset[str]) -> str:
    """The scanned module a dotted callee is defined in: a function (`app.db.count_rows`), a class whose
    constructor takes the name (`app.base.Repository`), or a class's method (`app.base.Repository.__init__`,
    a `super().__init__(...)` call); "" when no scanned module has it."""
    home = callee.rpartition(".")[0]
    if home in modules_known:
        return home
    outer, _, cls = home.rpartition(".")
    first = cls.lstrip("_")[:1]
    return outer if outer in modules_known and first.isupper() else ""


@functools.lru_cache(maxsize=1 << 16)
def _module_names(path: str) -> frozenset[str]:
    """The dotted names a file may be imported by: `base`, `app.base`, `src.app.base` for src/app/base.py
    (asked again for each remaining file in each round: remembered)."""
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return frozenset(".".join(parts[i:]) for i in range(len(parts)))


def _rounds_inputs(records: dict[str, FileRecord], views: _RoundsViews, filters: _Filters) -> str:
    """Which files the rounds parse follows from every file's content and pre-filter verdicts. A file the
    first round parses whatever its text says tells the rounds only its view (what they read of its
    facts): an edit that leaves it as it was (a comment, moved code, a changed function body that names
    no new holder or helper) leaves the rounds as they were (early cutoff)."""
    return content_key(
        repr(
            sorted(
                (p, views.key(p, r.key) if filters.wanted(r.flags) else r.key, r.flags)
                for p, r in records.items()
            )
        ).encode()
    )


def _facts_key(path: str, key: str, cache: ScanCache) -> str:
    """What a file tells the stages that read only its facts: their digest, else its content key."""
    digest = cache.result_digest(key, path)
    return "facts:" + digest if digest is not None else key


class _RoundsViews:
    """Each parsed file's rounds view, memoised in the cache by the digest of its facts: an unchanged
    file's view is known without loading its facts; a changed file's facts are loaded to compute it."""

    STAGE = "rounds views"

    def __init__(self, cache: ScanCache, pattern: re.Pattern[str]) -> None:
        self.cache = cache
        self.pattern = pattern
        memo = cache.stage(self.STAGE, "by facts")  # the cache's key holds the names and rule packs
        valid = isinstance(memo, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in memo.items()
        )
        self.memo: dict[str, str] = dict(memo) if valid else {}  # type: ignore[arg-type]
        self.used: dict[str, str] = {}

    def key(self, path: str, key: str) -> str:
        digest = self.cache.result_digest(key, path)
        if digest is None:
            return key
        view = self.memo.get(digest)
        if view is None:
            facts = self.cache.get(key, path)
            if type(facts).__name__ == "ModuleFacts":
                view = "view:" + _rounds_view(facts, self.pattern)
            else:  # a diagnostic (or an entry that did not load, parsed again): its whole digest
                view = "facts:" + digest
            self.memo[digest] = view
        self.used[digest] = view
        return view

    def save(self) -> None:
        self.cache.put_stage(self.STAGE, "by facts", dict(sorted(self.used.items())))


def _rounds_view(module: ModuleFacts, pattern: re.Pattern[str]) -> str:
    """Everything the rounds read of a module's facts (`_holder_names`, `_table_holders`, `_helper_names`,
    `_import_prefixes`, `_receiver_modules`, and the attribute and return types `_typed_by_bases` follows),
    and nothing of where it is written."""

    def legacy(value: Sequence[object]) -> bool:
        return any(isinstance(p, Lit) and pattern.search(p.text) for p in value)

    sites = {
        (
            s.kind == "mapping",
            s.owner,
            s.holder,
            s.receiver,
            legacy(s.value),
            tuple(p.function for p in s.value if isinstance(p, Hole) and p.param),
        )
        for s in module.sites
    }
    tables = {
        local: (t.abstract, t.declarative_base, t.mapped, t.computed)
        for local, t in module.table_classes.items()
    }
    view = (
        module.path,
        module.module,
        sorted((name, legacy(value)) for name, value in module.constants.items()),
        sorted(module.imports.items()),
        sorted(module.classes.items()),
        sorted(tables.items()),
        sorted(sites),
        sorted(module.forwards()),
        module.legacy_callees,
        sorted(module.attribute_types.items()),
    )
    return content_key(repr(view).encode())


def _remembered_rounds(
    out: _PythonFacts,
    records: dict[str, FileRecord],
    results: dict[str, ModuleFacts | Diagnostic],
    cache: ScanCache,
    filters: _Filters,
    views: _RoundsViews,
) -> bool:
    """The outcome of the rounds when no file changed since they last ran: the paths of the facts they
    gathered (loaded only if a later stage must run) and their content diagnostics."""
    if cache.stages.get("rounds") is None:
        return False  # never ran: no view is worth computing
    remembered = cache.stage("rounds", _rounds_inputs(records, views, filters))
    views.save()
    if remembered is None:
        return False
    fact_paths, diagnosed = remembered
    if not all(p in records and cache.has(records[p].key, p) for p in (*fact_paths, *diagnosed)):
        return False
    diagnostics = [results.get(p) or cache.get(records[p].key, p) for p in diagnosed]
    if not all(isinstance(d, Diagnostic) for d in diagnostics):
        return False
    out.diagnostics.extend(diagnostics)  # type: ignore[arg-type]
    out.fact_paths = list(fact_paths)
    out.loader = lambda: [
        f
        for f in (results.get(p) or cache.get(records[p].key, p) for p in fact_paths)
        if f is not None and not isinstance(f, Diagnostic)
    ]
    return True


def _collect(
    outcomes: list[_Outcome],
    cache: ScanCache,
    records: dict[str, FileRecord],
    results: dict[str, ModuleFacts | Diagnostic],
    diagnostics: list[Diagnostic],
    kept: _KeptBytes | None = None,
) -> None:
    for outcome in outcomes:
        if outcome.record is None:
            if outcome.result is not None:
                diagnostics.append(outcome.result)  # type: ignore[arg-type]
            continue
        records[outcome.path] = outcome.record
        if kept is not None and outcome.data is not None:
            kept.add(outcome.path, outcome.data)
        if outcome.record.status[0] >= 0:
            cache.record(outcome.path, outcome.record)
        _keep(outcome, outcome.record, cache, results)


class _KeptBytes:
    """The bytes of unparsed files, up to ``_KEPT_BYTES`` in all: the holder rounds test them without
    reading the files again (the bytes are those the first round keyed: its records stand for them)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.size = 0

    def add(self, path: str, data: bytes) -> None:
        if self.size + len(data) <= _KEPT_BYTES:
            self.data[path] = data
            self.size += len(data)

    def pop(self, path: str) -> None:
        data = self.data.pop(path, None)
        if data is not None:
            self.size -= len(data)


def _keep(
    outcome: _Outcome, record: FileRecord, cache: ScanCache, results: dict[str, ModuleFacts | Diagnostic]
) -> None:
    """What a worker sent for a file it read under ``record``: the facts it parsed (kept pickled, or as
    the object when they did not pickle) and the SQL analyses it made."""
    if outcome.payload is not None:
        cache.put_pickled(record.key, outcome.path, outcome.payload)
    elif outcome.result is not None:
        cache.put(record.key, outcome.result)
        results[outcome.path] = outcome.result
    if outcome.analyses:
        adopt_analyses(outcome.analyses)


def _holder_users(
    remaining: list[str],
    holders: dict[str, set[str]],
    by_path: dict[str, SourceFile],
    records: dict[str, FileRecord],
    extractor: _Extractor,
    cache: ScanCache,
    results: dict[str, ModuleFacts | Diagnostic],
    out: _PythonFacts,
    kept: _KeptBytes,
) -> list[str]:
    """The remaining files that use one of the holder constants; the workers parse them (and read and test
    those whose bytes were not kept).

    Which file uses which holders is remembered per holder set, so an unchanged file is not read. A file
    whose bytes the first round kept is not read either: the main process tests them (measured on the bench
    corpus, 5,123 files and 84 holders: 0.4 s here against 1.5 s for the round trips to the workers), and a
    user is then parsed from them."""
    signature = content_key(repr(sorted((k, sorted(v)) for k, v in holders.items())).encode())
    known: dict[str, tuple[str, bool]] = cache.stage("holders:" + signature, signature) or {}
    wanted = tuple(
        (name.encode(), tuple(m.lower().encode() for m in sorted(modules)))
        for name, modules in sorted(holders.items())
    )
    verdicts: dict[str, tuple[str, bool]] = {}
    tasks: list[_Task] = []
    tested = dict(wanted)  # kept bytes are tested here, not by the workers
    for path in remaining:
        record = records[path]
        verdict = known.get(path)
        lost = verdict is not None and verdict[1] and path not in results and not cache.has(record.key, path)
        if verdict is None or verdict[0] != record.key or lost:
            data = kept.data.get(path)
            if data is None:
                tasks.append(_Task(path, by_path[path].full_path, holders=wanted, known=record))
            else:
                verdicts[path] = (record.key, _uses_holder(data, tested))
                if verdicts[path][1]:
                    tasks.append(_Task(path, by_path[path].full_path, data, parse=True, known=record))
        else:
            verdicts[path] = verdict
    for outcome in extractor.run(tasks):
        if outcome.record is None:
            if outcome.result is not None:
                out.diagnostics.append(outcome.result)  # type: ignore[arg-type]
            continue
        path, record = outcome.path, outcome.record
        if record.key != records[path].key:  # changed since the first round: what was read now counts
            records[path] = record
            cache.record(path, record)
        _keep(outcome, record, cache, results)
        if path not in verdicts:  # tested by the worker (else here, and parsed by it)
            verdicts[path] = (record.key, outcome.uses_holder)
    cache.put_stage("holders:" + signature, signature, verdicts)
    users = [p for p in remaining if verdicts.get(p, ("", False))[1]]
    for path in users:  # parsed now: their bytes are no longer needed
        kept.pop(path)
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


def _table_holders(
    facts: list[ModuleFacts], pattern: re.Pattern[str], known: set[str]
) -> dict[str, set[str]]:
    """Names whose users decide which class owns a legacy table, round after round: classes that map no
    table themselves but pass one on (a mixin's or abstract base's `__tablename__`, a declared_attr that
    computes it), the abstract classes and mixins built on them, and variables that hold a Table() a class
    may be mapped onto (`registry.map_imperatively`). A mapped class passes nothing on: it owns its table."""
    found: dict[str, set[str]] = {}

    def add(dotted: str, module: str, mixin: bool = True) -> None:
        name = dotted.rsplit(".", 1)[-1]
        if mixin:  # a declarative base is read for its users, but its subclasses are mapped: they stop here
            known.add(name)
        found.setdefault(name, set()).add(module.rsplit(".", 1)[-1])

    mixins = known | {  # a mixin built on mixins passes a name on as well
        local.rsplit(".", 1)[-1]
        for module in facts
        for local in module.classes
        if _passes_on(module, local, known)
    }
    for module in facts:
        for site in module.sites:
            if not (site.owner or site.holder) or not any(
                isinstance(p, Lit) and pattern.search(p.text) for p in site.value
            ):
                continue
            if site.holder:
                add(site.holder, module.module)
            elif _passes_on(module, site.owner[len(module.module) + 1 :], mixins):
                add(site.owner, module.module)
        for local, table in module.table_classes.items():
            if table.computed and (table.declarative_base or _passes_on(module, local, mixins)):
                add(local, module.module, not table.declarative_base)
        for local, bases in module.classes.items():
            if any(b.rsplit(".", 1)[-1] in known for b in bases) and _passes_on(
                module, local, mixins | known
            ):
                add(local, module.module)
    return found


def _passes_on(module: ModuleFacts, local: str, holders: set[str]) -> bool:
    """A class that maps no table, as far as its own module tells: `__abstract__`, or built only on
    mixins (known holders, object)."""
    from auditor.python.extract import NEUTRAL_BASES

    table = module.table_classes.get(local)
    if table is not None and (table.abstract or table.declarative_base or table.mapped):
        return table.abstract
    return all(
        b.rsplit(".", 1)[-1] in holders or b.rsplit(".", 1)[-1] in NEUTRAL_BASES
        for b in module.classes[local]
    )


def _helper_names(
    new: list[ModuleFacts], every: list[ModuleFacts], known: dict[str, set[str]], methods: set[str]
) -> dict[str, set[str]]:
    """Functions (and their classes) whose parameter may reach a table position, new in this round, with
    the modules a caller imports them from: the files that define, re-export or call them are parsed."""
    fresh: dict[str, set[str]] = {}

    def add(name: str, module: str) -> None:
        last = module.rsplit(".", 1)[-1]
        if last not in known.get(name, ()):
            known.setdefault(name, set()).add(last)
            fresh.setdefault(name, set()).add(last)

    for facts in new:
        for site in facts.sites:
            if site.receiver:  # a sink only if its receiver's type says so (read when resolving)
                continue
            for piece in site.value:
                if isinstance(piece, Hole) and piece.param and site.kind != "mapping":
                    _add_function(add, methods, facts.module, piece.function)
        # the calls that pass a parameter on (read without unpacking the call records), until no new
        # helper appears: a function that forwards to one found here is one as well, whatever their order
        forwards = sorted(facts.forwards())
        size = -1
        while size != len(methods):
            size = len(methods)
            for callee, function in forwards:
                if callee.rsplit(".", 1)[-1] in methods:
                    _add_function(add, methods, facts.module, function)
    for facts in every:
        if facts.path.endswith("__init__.py"):  # a package that re-exports a helper: callers import it there
            for local, target in facts.imports.items():
                if target.rsplit(".", 1)[-1] in known:
                    add(local, facts.module)
    return fresh


def _add_function(add: Callable[[str, str], None], methods: set[str], module: str, function: str) -> None:
    """A module-level function by its name, in its module (a method's callers name its class, which may be
    large and used everywhere: they are parsed when they pass a legacy name themselves); every helper's
    own name is remembered to recognise the calls that pass a parameter on to it."""
    if function.startswith(module + "."):
        local = function[len(module) + 1 :].split(".")
        if len(local) == 1:
            add(local[0], module)
        methods.add(local[-1])


def _uses_holder(data: bytes, wanted: dict[bytes, tuple[bytes, ...]]) -> bool:
    """The file names a holder constant and the module it comes from (an import, or `module.NAME`).

    A holder counts only as a whole word. For a few holders, substring tests first (C speed over every
    file), and the words are split out only for the files that pass them; for many, the words are split
    out at once (one pass of `translate` and `split` beats one substring search per name; most files hold
    none of them, which `isdisjoint` tells without building a set of the file's words)."""
    if len(wanted) <= _FEW_HOLDERS:
        present = [name for name in wanted if name in data]
        if not present:
            return False
        found = set(present).intersection(data.translate(_WORDS).split())
    else:
        words = data.translate(_WORDS).split()
        if wanted.keys().isdisjoint(words):
            return False
        found = wanted.keys() & set(words)
    if not found:
        return False
    lowered = data.lower()
    return any(m in lowered for name in found for m in wanted[name])


_FEW_HOLDERS = 24
# every byte that cannot be part of an identifier becomes a space: `split()` then gives the words
_WORDS = bytes(c if chr(c).isascii() and (chr(c).isalnum() or chr(c) == "_") else 0x20 for c in range(256))


def _computed_column_rewrites(
    findings: list[Finding], catalog: LegacyCatalog, root: str, sql_texts: dict[str, str]
) -> list[Finding]:
    """A rewrite of a query that may read a column only the view computes says what to compute instead,
    and is left to a person: the query is read near the reference (its SQL statement, or a few lines)."""
    texts: dict[str, str] = {}
    out: list[Finding] = []
    for finding in findings:
        entry = catalog.get(finding.legacy) if finding.legacy is not None else None
        if entry is None or not entry.computed or finding.suggestion is None:
            out.append(finding)
            continue
        if finding.path not in texts:
            texts[finding.path] = sql_texts.get(finding.path) or _source_text(root, finding.path)
        query = _query_near(texts[finding.path], finding)
        names = [name for name, _ in entry.computed]
        pattern = r"\*|\b(?:" + "|".join(re.escape(n) for n in names) + r")\b"
        if not re.search(pattern, query, re.IGNORECASE):
            out.append(finding)
            continue
        computed = ", ".join(f"{name} = {expression}" for name, expression in entry.computed)
        description = (
            f"{finding.suggestion.description} Columns only the view computes must be computed in the "
            f"query instead: {computed}."
        )
        suggestion = replace(finding.suggestion, description=description, mechanical=False)
        out.append(replace(finding, suggestion=suggestion))
    return out


def _query_near(text: str, finding: Finding) -> str:
    """The SQL statement of a .sql finding; a few lines around a Python one (the SQL it builds)."""
    lines = text.split("\n")
    line = finding.span.line
    if finding.path.endswith(".sql"):
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + finding.span.column - 1
        start = text.rfind(";", 0, offset) + 1
        end = text.find(";", offset)
        return text[start : end if end >= 0 else len(text)]
    first = last = line - 1  # the paragraph of code around the reference: SQL built over a few lines
    while first > 0 and line - first < 4 and lines[first - 1].strip() and "def " not in lines[first]:
        first -= 1
    while last + 1 < len(lines) and last - line < 6 and lines[last + 1].strip():
        last += 1
    return "\n".join(lines[first : last + 1])


def _source_text(root: str, path: str) -> str:
    data = read_bytes(os.path.join(root, path), path, 1 << 30)
    decoded = decode_python(data, path) if isinstance(data, bytes) else ""
    return decoded if isinstance(decoded, str) else ""


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
                text = _source_text(root, finding.path)
            lines = text.split("\n")
            lines_by_path[finding.path] = lines
        line = finding.span.line
        snippet = snippet_of(lines[line - 1], finding.span.column) if 0 < line <= len(lines) else ""
        out.append(replace(finding, snippet=snippet))
    return out
