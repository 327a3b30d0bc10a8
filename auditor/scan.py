"""The scan pipeline: discover -> catalog -> pre-filter -> extract (parallel) -> resolve -> SQL files."""

from __future__ import annotations

import codecs
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import libcst as cst

from auditor.catalog.config import Config, ConfigError
from auditor.catalog.names import LegacyCatalog, name_pattern, parse_declared_name, parse_object_name
from auditor.core.model import (
    MIGRATION,
    UNANALYSED_KINDS,
    Confidence,
    Diagnostic,
    Finding,
    LeftOut,
    LegacyObject,
    ObjectName,
    ScanResult,
    Span,
    UnanalysedFile,
    report_order,
)
from auditor.core.source import decode_python, decode_sql, read_bytes, utf16_text
from auditor.database.connect import DatabaseError, DatabaseRequest
from auditor.database.witness import LiveReading, read_database
from auditor.discover.cache import CACHE_DIR, ScanCache, configuration_key, content_key
from auditor.discover.files import SourceFile, discover
from auditor.discover.prefilter import ModelClassPrefilter, NamePrefilter, builds_dynamic_sql
from auditor.python.dependents import function_uses
from auditor.python.extract import ModuleFacts, extract_module
from auditor.python.migrations import PythonMigration, application_order, could_be_migration, read_migration
from auditor.python.resolve import Resolution, Resolver, apply_positions
from auditor.python.rulepacks import RulePacks, load_rule_packs
from auditor.python.values import Lit
from auditor.sql.dependents import DependentObjects, built_on_legacy, function_call_pattern
from auditor.sql.files import analyze_sql_files
from auditor.sql.migrations import MigrationCatalog, catalog_from_migrations, migration_order
from auditor.sql.refs import analyze_sql

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
    database: DatabaseRequest | None = None  # the live database as a second witness
    accept_unresolved: bool = False  # a person checked the LR005 sites: they hold no legacy name


MIGRATION_DIR_NAMES = frozenset({"migrations", "migration"})


def default_migration_dirs(config: Config, sql_paths: Iterable[str]) -> tuple[str, ...]:
    """The configured migration directories, or every directory named `migrations` or `migration`
    that holds .sql files (supabase/migrations, db/migrations, Flyway's db/migration, ...)."""
    if config.migrations is not None:
        return tuple(m.strip("/") for m in config.migrations)
    dirs = {os.path.dirname(p) for p in sql_paths}
    return tuple(sorted(d for d in dirs if os.path.basename(d) in MIGRATION_DIR_NAMES))


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


def read_migration_sources(files: Sequence[SourceFile], config: Config) -> MigrationSources:
    sql = read_sql_files(files, config.max_file_bytes)
    configured = [m for m in config.migrations or () if m.strip("/")]
    python: list[PythonMigration] = []
    for file in files:
        if not file.path.endswith(".py") or not could_be_migration(file.path, configured):
            continue
        data = read_bytes(file.full_path, file.path, config.max_file_bytes)
        text = decode_python(data, file.path) if isinstance(data, bytes) else data
        if isinstance(text, str):
            migration = read_migration(file.path, text, configured)
            if migration is not None:
                python.append(migration)
                sql.diagnostics.extend(migration.diagnostics)
    return MigrationSources(sql, default_migration_dirs(config, sql.texts), application_order(python))


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
        (p for p in sql_texts if any(p.startswith(d.rstrip("/") + "/") for d in sources.dirs)),
        key=migration_order,
    )
    history = [(p, sql_texts[p]) for p in migration_paths] + sources.python_texts
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

_WORKER: dict[str, object] = {}


def _init_worker(packs: RulePacks, pattern: re.Pattern[str], max_bytes: int) -> None:
    _WORKER["packs"] = packs
    _WORKER["pattern"] = pattern
    _WORKER["max_bytes"] = max_bytes


def _extract_file(item: tuple[str, str, bool]) -> ModuleFacts | Diagnostic:
    rel, full, with_positions = item
    data = read_bytes(full, rel, int(_WORKER["max_bytes"]))  # type: ignore[call-overload]
    if isinstance(data, Diagnostic):
        return data
    text = decode_python(data, rel)
    if isinstance(text, Diagnostic):
        return text
    try:
        return extract_module(
            rel,
            text,
            _WORKER["packs"],
            _WORKER["pattern"],
            with_positions=with_positions,  # type: ignore[arg-type]
        )
    except cst.ParserSyntaxError as exc:
        return Diagnostic(rel, exc.raw_line, "syntax-error", f"cannot parse: {exc.message}")
    except RecursionError:
        return Diagnostic(rel, None, "syntax-error", "cannot parse: nesting too deep")
    except Exception as exc:  # one file's failure must not end the scan
        return Diagnostic(
            rel, None, "parse-error", f"libcst could not analyse the file: {type(exc).__name__}: {exc}"
        )


class _Extractor:
    """Runs file extraction in-process or on a pool of processes."""

    def __init__(self, jobs: int, packs: RulePacks, pattern: re.Pattern[str], max_bytes: int) -> None:
        self.jobs = jobs
        self.args = (packs, pattern, max_bytes)
        self.pool: ProcessPoolExecutor | None = None

    def run(self, items: list[tuple[str, str, bool]]) -> list[ModuleFacts | Diagnostic]:
        if self.jobs <= 1 or len(items) < _PARALLEL_THRESHOLD:
            _init_worker(*self.args)
            return [_extract_file(item) for item in items]
        if self.pool is None:
            context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
            self.pool = ProcessPoolExecutor(
                self.jobs, mp_context=context, initializer=_init_worker, initargs=self.args
            )
        chunk = max(1, len(items) // (self.jobs * 8))
        return list(self.pool.map(_extract_file, items, chunksize=chunk))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


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
    sources = read_migration_sources(found.files, config)
    sql_texts = sources.sql.texts
    diagnostics.extend(sources.sql.diagnostics)
    migration_dirs = sources.dirs
    catalog, catalog_diagnostics, migration_info, migration_paths = build_catalog(
        root, config, options.legacy, sources
    )
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
    sql_result = analyze_sql_files(
        [*sql_texts.items(), *sources.python_texts], frozenset(migration_paths), catalog, migration_info
    )
    dependents = DependentObjects(
        built_on_legacy(sql_result.definitions, sql_result.findings, catalog), catalog
    )
    scan_catalog = dependents.scan_catalog()  # the dependent views are looked for like legacy names
    functions = dependents.functions
    pattern = name_pattern(scan_catalog.bare_names)
    jobs = options.jobs or os.cpu_count() or 1
    extractor = _Extractor(jobs, packs, pattern, config.max_file_bytes)
    cache_dir = os.path.join(root, options.cache_dir) if options.cache_dir else None
    cache = ScanCache(cache_dir, configuration_key(repr(packs), pattern.pattern))
    try:
        facts, parse_diagnostics, py_suppressions, keys, watched = _extract_python(
            py_files,
            scan_catalog,
            extractor,
            config.max_file_bytes,
            progress,
            cache,
            config.unresolved == "everywhere",
            frozenset(m.attribute for m in packs.mappings),
            NamePrefilter(functions) if functions else None,
        )
        diagnostics.extend(parse_diagnostics)
        resolution = Resolver(facts, scan_catalog).resolve()
        findings = resolution.findings
        if resolution.pending:
            findings = _locate_pending(findings, resolution, facts, py_files, extractor, cache, keys)
    finally:
        extractor.close()
    cache.save(keep={k for key in keys.values() for k in (key, "pos:" + key)})
    findings = [dependents.as_lr103(f) for f in findings]
    findings.extend(_dependent_uses(dependents, watched, sql_texts, frozenset(migration_paths)))
    findings = _in_context(findings, sql_result.findings, sources.python)
    diagnostics.extend(sql_result.diagnostics)
    if reading is not None:
        findings.extend(reading.findings(sql_result.db_objects))
    findings = _with_snippets(findings, root, sql_texts)
    findings = _computed_column_rewrites(findings, catalog, root, sql_texts)
    suppression_files = sorted(
        {p for p, t in sql_texts.items() if SUPPRESSION_MARK in t} | set(py_suppressions)
    )
    findings.sort(key=report_order)
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
        left_out=tuple(sorted([*found.left_out, *unread], key=lambda e: (e.path, e.reason))),
    )


def _read_database(
    request: DatabaseRequest, catalog: LegacyCatalog, migrations: MigrationCatalog, out: list[Diagnostic]
) -> LiveReading | None:
    """The live database's reading; unreadable: an error (``required``) or a diagnostic and None."""
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


_CHUNK = 1 << 20


def unanalysed_files(
    root: str, diagnostics: Iterable[Diagnostic], catalog: LegacyCatalog
) -> tuple[UnanalysedFile, ...]:
    """The files whose content was not analysed, each with the legacy objects its text names (the
    pre-filter's test: whole word, any case); a file that cannot be read at all may name any."""
    by_bare: dict[str, list[ObjectName]] = {}
    for obj in catalog.objects:
        by_bare.setdefault(obj.legacy.name.lower(), []).append(obj.legacy)
    exact = NamePrefilter(catalog.bare_names).exact
    out: dict[str, UnanalysedFile] = {}
    for diag in diagnostics:
        if diag.kind not in UNANALYSED_KINDS or diag.path in out:
            continue
        words = _words_in_file(os.path.join(root, diag.path), exact)
        names = sorted({n for w in words or () for n in by_bare.get(w, ())}, key=str)
        out[diag.path] = UnanalysedFile(diag.path, diag.kind, diag.message, tuple(names), words is None)
    return tuple(out[p] for p in sorted(out))


def _words_in_file(path: str, exact: re.Pattern[bytes]) -> set[str] | None:
    """The lower-cased legacy names in a file's bytes (also as UTF-16); None when it cannot be read."""
    found: set[str] = set()
    tail = b""
    try:
        if not os.path.isfile(path):
            return None  # a directory that could not be listed: its files may name anything
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                data = tail + chunk
                texts = [data]
                if b"\0" in data:  # UTF-16 text without a BOM is not ASCII-compatible
                    texts += [data.decode(c, "replace").encode() for c in ("utf-16-le", "utf-16-be")]
                    texts += [data[1:].decode(c, "replace").encode() for c in ("utf-16-le", "utf-16-be")]
                for text in texts:
                    found.update(m.group(0).decode("utf-8", "replace").lower() for m in exact.finditer(text))
                tail = data[-256:]
    except OSError:
        return None
    return found


_UNREAD_KINDS = frozenset({"too-large", "binary"})  # diagnostics of files that were left out unread


def _dependent_uses(
    dependents: DependentObjects,
    watched: dict[str, bytes],
    sql_texts: dict[str, str],
    migration_paths: frozenset[str],
) -> list[Finding]:
    """LR103 for calls of dependent functions in Python, and for uses of dependent objects in .sql files
    that are not migrations."""
    uses: list[Finding] = []
    functions = dependents.functions
    if functions:
        pattern = function_call_pattern(functions)
        for path, data in sorted(watched.items()):
            text = decode_python(data, path)
            if isinstance(text, str):
                for use in function_uses(path, text, pattern, functions):
                    span = Span(use.line, use.column, use.end_line, use.end_column)
                    uses.append(dependents.use(use.function, path, span, use.block, Confidence.MEDIUM))
    if dependents.chains:
        names = name_pattern(name.name for name in dependents.chains)
        for path, text in sql_texts.items():
            if path not in migration_paths and names.search(text):
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


def _read_sql(file: SourceFile, max_bytes: int) -> str | Diagnostic:
    data = read_bytes(file.full_path, file.path, max_bytes)
    return data if isinstance(data, Diagnostic) else decode_sql(data, file.path)


def _extract_python(
    files: list[SourceFile],
    catalog: LegacyCatalog,
    extractor: _Extractor,
    max_bytes: int,
    progress: Callable[[str, int, int], None] | None,
    cache: ScanCache,
    dynamic_everywhere: bool,
    mapping_attributes: frozenset[str],
    watch: NamePrefilter | None = None,
) -> tuple[list[ModuleFacts], list[Diagnostic], list[str], dict[str, str], dict[str, bytes]]:
    """Parse only files that can hold a reference: they name a legacy object, build SQL around a
    table keyword, or use a constant that (transitively) holds a legacy name. The content of files that
    ``watch`` matches is handed back (names of functions built on legacy views)."""
    watched: dict[str, bytes] = {}
    names = NamePrefilter(catalog.bare_names)
    models = ModelClassPrefilter(catalog.bare_names)
    remaining: dict[str, tuple[SourceFile, bytes]] = {}
    candidates: list[SourceFile] = []
    diagnostics: list[Diagnostic] = []
    suppressions: list[str] = []
    keys: dict[str, str] = {}  # path -> cache key of its content
    for file in files:
        data = read_bytes(file.full_path, file.path, max_bytes)
        if isinstance(data, Diagnostic):
            diagnostics.append(data)
            continue
        keys[file.path] = content_key(file.path.encode() + b"\0" + data)
        data = _as_utf8(data)
        if SUPPRESSION_MARK_BYTES in data:
            suppressions.append(file.path)
        lowered = data.lower()
        if watch is not None and watch.matches(data, lowered):
            watched[file.path] = data
        if (
            b"\0" in data  # UTF-16 without a BOM, or binary: the worker reports it
            or names.matches(data, lowered)
            or (dynamic_everywhere and builds_dynamic_sql(lowered))
            or models.matches(file.path, lowered)
        ):
            candidates.append(file)
        else:
            remaining[file.path] = (file, data)
    facts: list[ModuleFacts] = []
    pattern = name_pattern(catalog.bare_names)
    done = 0
    while candidates:
        if progress is not None:
            progress("parsing", done, done + len(candidates))
        results = _cached_run(extractor, cache, keys, candidates, False)
        done += len(candidates)
        new_facts = [r for r in results if isinstance(r, ModuleFacts)]
        diagnostics.extend(r for r in results if isinstance(r, Diagnostic))
        facts.extend(new_facts)
        holders = _holder_names(new_facts, pattern, mapping_attributes)
        if not holders or not remaining:
            break
        holder_filter = NamePrefilter(holders)
        candidates = [
            f for f, data in remaining.values() if _uses_holder(data, data.lower(), holders, holder_filter)
        ]
        for file in candidates:
            del remaining[file.path]
    return facts, diagnostics, suppressions, keys, watched


def _as_utf8(data: bytes) -> bytes:
    """UTF-16 text with a byte order mark as UTF-8, for the byte-level pre-filters; anything else as is."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = utf16_text(data, "")
        if isinstance(text, str):
            return text.encode("utf-8")
    return data


def _cached_run(
    extractor: _Extractor, cache: ScanCache, keys: dict[str, str], files: list[SourceFile], positions: bool
) -> list[ModuleFacts | Diagnostic]:
    prefix = "pos:" if positions else ""
    results: dict[str, ModuleFacts | Diagnostic] = {}
    missing: list[SourceFile] = []
    for file in files:
        hit = cache.get(prefix + keys[file.path])
        if hit is not None:
            results[file.path] = hit
        else:
            missing.append(file)
    for file, result in zip(
        missing, extractor.run([(f.path, f.full_path, positions) for f in missing]), strict=True
    ):
        cache.put(prefix + keys[file.path], result)
        results[file.path] = result
    return [results[f.path] for f in files]


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


def _locate_pending(
    findings: list[Finding],
    resolution: Resolution,
    facts: list[ModuleFacts],
    files: list[SourceFile],
    extractor: _Extractor,
    cache: ScanCache,
    keys: dict[str, str],
) -> list[Finding]:
    # positions found by the first pass; libcst's position metadata only for what it could not place
    positions = {f.path: f.node_positions for f in facts}
    paths = sorted({p.path for p in resolution.pending if p.node not in positions.get(p.path, {})})
    by_path = {f.path: f for f in files}
    results = _cached_run(extractor, cache, keys, [by_path[p] for p in paths if p in by_path], True)
    positions.update({r.path: r.node_positions for r in results if isinstance(r, ModuleFacts)})
    return apply_positions(findings, resolution.pending, positions)


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
        snippet = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        out.append(replace(finding, snippet=snippet))
    return out
