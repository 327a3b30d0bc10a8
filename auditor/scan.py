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
from auditor.catalog.names import LegacyCatalog, name_pattern, parse_declared_name
from auditor.core.model import (
    UNANALYSED_KINDS,
    Diagnostic,
    Finding,
    LegacyObject,
    ObjectName,
    ScanResult,
    UnanalysedFile,
    report_order,
)
from auditor.core.source import decode_python, decode_sql, read_bytes, utf16_text
from auditor.discover.cache import CACHE_DIR, ScanCache, configuration_key, content_key
from auditor.discover.files import SourceFile, discover
from auditor.discover.prefilter import ModelClassPrefilter, NamePrefilter, builds_dynamic_sql
from auditor.python.extract import ModuleFacts, extract_module
from auditor.python.resolve import Resolution, Resolver, apply_positions
from auditor.python.rulepacks import RulePacks, load_rule_packs
from auditor.python.values import Lit
from auditor.sql.files import analyze_sql_files
from auditor.sql.migrations import catalog_from_migrations

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
    accept_unresolved: bool = False  # a person checked the LR005 sites: they hold no legacy name


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
    from_migrations = catalog_from_migrations([(p, sql_texts[p]) for p in migration_paths], schema)
    objects: dict[str, LegacyObject] = {str(o.legacy): o for o in from_migrations.objects}
    sources = (("config", list(config.legacy.items())), ("cli", list(cli_legacy)))
    for source, pairs in sources:
        for legacy, target in declared_pairs(pairs, schema, config.source if source == "config" else None):
            known = objects.get(str(legacy))
            columns = known.columns if known is not None and known.target == target else ()
            objects[str(legacy)] = LegacyObject(
                legacy, target, "name" if known is None else known.kind, source, columns
            )
    catalog = LegacyCatalog(objects.values(), schema)
    return catalog, list(from_migrations.diagnostics), from_migrations, migration_paths


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
    jobs = options.jobs or os.cpu_count() or 1
    extractor = _Extractor(jobs, packs, pattern, config.max_file_bytes)
    cache_dir = os.path.join(root, options.cache_dir) if options.cache_dir else None
    cache = ScanCache(cache_dir, configuration_key(repr(packs), pattern.pattern))
    try:
        facts, parse_diagnostics, py_suppressions, keys = _extract_python(
            py_files,
            catalog,
            extractor,
            config.max_file_bytes,
            progress,
            cache,
            config.unresolved == "everywhere",
            frozenset(m.attribute for m in packs.mappings),
        )
        diagnostics.extend(parse_diagnostics)
        resolution = Resolver(facts, catalog).resolve()
        findings = resolution.findings
        if resolution.pending:
            findings = _locate_pending(findings, resolution, facts, py_files, extractor, cache, keys)
    finally:
        extractor.close()
    cache.save(keep={k for key in keys.values() for k in (key, "pos:" + key)})
    sql_result = analyze_sql_files(
        [(p, t) for p, t in sql_texts.items()], frozenset(migration_paths), catalog, migration_info
    )
    findings.extend(sql_result.findings)
    diagnostics.extend(sql_result.diagnostics)
    findings = _with_snippets(findings, root, sql_texts)
    suppression_files = sorted(
        {p for p, t in sql_texts.items() if SUPPRESSION_MARK in t} | set(py_suppressions)
    )
    findings.sort(key=report_order)
    all_diagnostics = sorted(diagnostics, key=lambda d: (d.path, d.line or 0, d.kind))
    return ScanResult(
        root=root,
        catalog=catalog.objects,
        findings=tuple(findings),
        diagnostics=tuple(all_diagnostics),
        files_scanned=len(py_files) + len(sql_texts),
        db_objects=tuple(sql_result.db_objects),
        suppression_files=tuple(suppression_files),
        unanalysed=unanalysed_files(root, all_diagnostics, catalog),
        unresolved_accepted=options.accept_unresolved,
    )


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
        if not os.path.lexists(path):
            return found  # deleted since it was found: nothing is left to name anything
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
) -> tuple[list[ModuleFacts], list[Diagnostic], list[str], dict[str, str]]:
    """Parse only files that can hold a reference: they name a legacy object, build SQL around a
    table keyword, or use a constant that (transitively) holds a legacy name."""
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
    return facts, diagnostics, suppressions, keys


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
