"""Analyse .sql files: legacy names in queries (LR101) and database objects that depend on them (LR102).

Migrations are history: they are replayed in order and only the objects that exist at the end count.
Other .sql files (reports, jobs, schema dumps) are taken as they are.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from auditor.catalog.names import LegacyCatalog, fold_identifier, name_pattern
from auditor.core.model import (
    MIGRATION,
    Confidence,
    DbObject,
    Diagnostic,
    Finding,
    LegacyObject,
    ObjectName,
    Span,
    Suggestion,
)
from auditor.core.source import LineIndex
from auditor.sql.analyses import TableRef
from auditor.sql.migrations import LegacyPoint, MigrationCatalog, resolve_name
from auditor.sql.order import is_repeatable
from auditor.sql.refs import UNTERMINATED, StatementInfo, analyze_file
from auditor.sql.rewrite import rewrite_reference, rewrite_schema
from auditor.sql.statements import quoted_ranges

# Positions that do not use an existing relation (definitions, drops) or that go away with the view.
_NOT_QUERY = frozenset({"create", "drop", "grant", "comment", "alter"})
# a script's GRANT, REVOKE or COMMENT ON fails once the view is gone (in the file that defines the view,
# they go with it; in a migration they are history)
_ON_OBJECT = frozenset({"grant", "comment"})
_DEFINES = _NOT_QUERY - _ON_OBJECT  # what the replay of the migrations applies
# a qualifier adds no dependency: its statement names the same table in a FROM item
_NOT_DEPENDENCY = frozenset({"create", "drop", "qualifier"})
_DEFINING = {
    "create view": "view",
    "create materialized view": "materialized view",
    "create function": "function",
    "create procedure": "procedure",
    "create trigger": "trigger",
    "create policy": "policy",
    "create rule": "rule",
    "create index": "index",
}
_OID_BOUND = frozenset({"view", "materialized view", "trigger", "policy", "rule", "index", "foreign key"})
_ATTACHED = frozenset({"trigger", "policy", "rule", "index"})  # dropped with the relation they are on
_CASCADE = re.compile(r"\bcascade\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Definition:
    """A view or function that exists after the migrations (or is defined in another .sql file)."""

    label: str  # as in Finding.db_object: "view sales.monthly_totals"
    kind: str
    name: ObjectName
    depends_on: tuple[ObjectName, ...]


@dataclass(frozen=True, slots=True)
class SqlFilesResult:
    findings: list[Finding]
    db_objects: list[DbObject]
    diagnostics: list[Diagnostic]
    definitions: list[Definition] = field(default_factory=list)


@dataclass(slots=True)
class _Object:
    """A persistent object and its latest definition."""

    kind: str
    name: str  # display name: "public.v", "trg on public.t", "fk on public.t"
    path: str
    text: str
    info: StatementInfo
    order: tuple[int, int]  # (file index, statement offset) in application order
    refs: tuple[TableRef, ...]
    own: ObjectName | None = None  # its own schema-qualified name (views, functions, indexes...)
    on: ObjectName | None = None  # the relation a trigger / policy / rule / index / foreign key belongs to
    executes: ObjectName | None = None  # triggers: the function they run
    identity: str | None = None  # unnamed foreign keys: where they were defined

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def key(self) -> tuple[str, str]:
        family = {"materialized view": "view", "procedure": "function"}.get(self.kind, self.kind)
        return family, self.identity or self.name

    @property
    def search_path(self) -> tuple[str, ...]:
        """A routine's own `SET search_path TO ...` clause: the schemas its body's unqualified names are
        looked up in when it runs; () for any other object, or a routine without one."""
        if self.kind not in ("function", "procedure"):
            return ()
        return _routine_search_path(self.text[self.info.start : self.info.end])


def analyze_sql_files(
    files: Sequence[tuple[str, str]],
    migration_paths: frozenset[str],
    catalog: LegacyCatalog,
    became_legacy: MigrationCatalog | None,
) -> SqlFilesResult:
    """Findings, dependent database objects and parse diagnostics for all .sql files."""
    analysis = _Analysis(catalog, became_legacy)
    texts = dict(files)
    known = became_legacy.statements if became_legacy is not None else {}
    order = [p for p in (became_legacy.order if became_legacy is not None else ()) if p in migration_paths]
    order += sorted((p for p in migration_paths if p in texts and p not in order),
                    key=lambda p: (os.path.dirname(p), os.path.basename(p)))  # fmt: skip
    replay = _Replay(catalog.default_schema)
    for file_index, path in enumerate(order):
        if path not in texts:
            continue
        infos = known[path] if path in known else analysis.statements(path, texts[path])
        # a script run again on every migrate is replayed with the history (its objects are what it leaves
        # defined), but what it reads runs against today's schema: live code, like any other script
        again = is_repeatable(path)
        defines = _defined_views(infos) if again else frozenset()
        search_path: tuple[str, ...] = ()
        analysis.diagnose(path, texts[path], infos)
        analysis.unparsed(path, texts[path], infos, history=not again)
        for info in infos:
            replay.apply(path, texts[path], info, (file_index, info.start))
            if again:
                search_path = _search_path(texts[path][info.start : info.end]) or search_path
            verb = info.kind.split(" ", 1)[0] if info.kind else None
            if not path.endswith(".sql") or verb is None:
                continue
            if again and verb not in _DEFINES:  # its GRANT or COMMENT ON the view fails once it is gone
                analysis.script(path, texts[path], info, defines=defines, search_path=search_path)
            elif not again and verb not in _NOT_QUERY:
                analysis.script(path, texts[path], info, (file_index, info.start))
    others: list[_Object] = []
    for path, text in files:
        if path in migration_paths:
            continue
        infos = analysis.statements(path, text)
        analysis.diagnose(path, text, infos)
        analysis.unparsed(path, text, infos, history=False)
        defines = _defined_views(infos)
        search_path: tuple[str, ...] = ()  # as the script's own `SET search_path` leaves it
        for info in infos:
            search_path = _search_path(text[info.start : info.end]) or search_path
            defined = _definitions(path, text, info, (0, info.start), catalog.default_schema)
            if defined:
                others.extend(defined)
                created = tuple(r for r in info.refs if r.table_ddl)
                if created:  # a CREATE TABLE that also defines foreign keys still creates the table
                    analysis.script(path, text, replace(info, refs=created), search_path=search_path)
            elif info.kind not in ("drop view", "drop materialized view"):  # Phase 3 itself
                # DROP TABLE too: it fails on the view
                analysis.script(path, text, info, defines=defines, search_path=search_path)
    final = list(replay.objects.values())
    compat_functions = analysis.compat_functions(final, True) | analysis.compat_functions(others, False)
    for obj in final:
        analysis.object(obj, compat_functions, history=True)
    for obj in others:
        analysis.object(obj, compat_functions, history=False)

    def depends(obj: _Object) -> tuple[ObjectName, ...]:  # as `object()` resolves names
        path = obj.search_path
        return tuple(analysis.named(r, path)[0] for r in obj.refs if r.position not in _NOT_DEPENDENCY)

    definitions = [
        Definition(obj.label, obj.kind, obj.own, depends(obj))
        for obj in (*final, *others)
        if obj.own is not None and obj.kind in _CALLABLE
    ]
    return SqlFilesResult(analysis.findings, analysis.db_objects, analysis.diagnostics, definitions)


def _defined_views(infos: Iterable[StatementInfo]) -> frozenset[tuple[str | None, str]]:
    """The views a script defines or drops: grants and comments on them go with them."""
    return frozenset(
        (r.schema, r.name)
        for info in infos
        for r in info.refs
        if r.position in ("create", "drop") and not r.table_ddl
    )


_CALLABLE = frozenset({"view", "materialized view", "function", "procedure"})  # what code can use by name

# `SET search_path TO billing, public`, `SET LOCAL search_path = "billing"` (a statement of its own)
_SET_SEARCH_PATH = re.compile(
    r"\A\s*set\s+(?:session\s+|local\s+)?search_path\s*(?:to|=)\s*(?P<schemas>[^;]+?)\s*;?\s*\Z",
    re.IGNORECASE,
)


# `CREATE FUNCTION ... SET search_path TO pg_catalog, pg_temp` (or `= 'billing', public`)
_ROUTINE_SEARCH_PATH = re.compile(
    r"""\bset\s+search_path\s*(?:to|=)\s*(?P<schemas>(?:"[^"]*"|'[^']*'|[\w$]+)(?:\s*,\s*(?:"[^"]*"|'[^']*'|[\w$]+))*)""",
    re.IGNORECASE,
)


def _search_path(statement: str) -> tuple[str, ...]:
    """The schemas a `SET search_path` statement lists, folded; () for any other statement."""
    found = _SET_SEARCH_PATH.match(statement)
    return _schemas(found.group("schemas")) if found is not None else ()


@functools.lru_cache(maxsize=1024)
def _routine_search_path(statement: str) -> tuple[str, ...]:
    """The schemas of a routine's `SET search_path` clause, folded; () when it has none."""
    for kind, start, end in quoted_ranges(statement):  # its body is no clause: blanked
        if kind in ("body", "comment"):
            statement = statement[:start] + " " * (end - start) + statement[end:]
    found = _ROUTINE_SEARCH_PATH.search(statement)
    return _schemas(found.group("schemas")) if found is not None else ()


def _schemas(listed: str) -> tuple[str, ...]:
    """`billing, 'public'` as folded schema names."""
    return tuple(fold_identifier(part.strip().strip("'")) for part in listed.split(","))


class _Analysis:
    def __init__(self, catalog: LegacyCatalog, migrations: MigrationCatalog | None) -> None:
        self.catalog = catalog
        self.points: dict[ObjectName, LegacyPoint] = (
            migrations.became_legacy if migrations is not None else {}
        )
        self.findings: list[Finding] = []
        self.db_objects: list[DbObject] = []
        self.diagnostics: list[Diagnostic] = []
        self._lines: dict[str, LineIndex] = {}
        self.names = name_pattern(catalog.bare_names)

    def lines(self, path: str, text: str) -> LineIndex:
        index = self._lines.get(path)
        if index is None:
            index = self._lines[path] = LineIndex(text)
        return index

    def statements(self, path: str, text: str) -> list[StatementInfo]:
        infos, failure = analyze_file(path, text)
        if failure is not None:
            self.diagnostics.append(failure)
        return infos

    def diagnose(self, path: str, text: str, infos: Iterable[StatementInfo]) -> None:
        for info in infos:
            if not info.kind:
                self.diagnostics.append(Diagnostic(
                    path, self.lines(path, text).line(info.start), "sql-parse",
                    "could not tell what kind of statement this is; its table names were searched by keyword",
                ))  # fmt: skip

    def unparsed(self, path: str, text: str, infos: Iterable[StatementInfo], history: bool) -> None:
        """A legacy name in a statement nobody could read (neither sqlglot nor the keyword scan found a
        table in it, or a quote or body never ends): an LR101 at medium confidence outside the
        migrations, a diagnostic in them (history is reported, never a blocker)."""
        for info in infos:
            if info.parsed or (info.refs and info.error != UNTERMINATED):
                continue
            taken = [(ref.name_start, ref.end) for ref in info.refs]
            for match in self.names.finditer(text, info.start, info.end):
                if any(lo <= match.start() < hi for lo, hi in taken):
                    continue
                ref = _word_ref(text, match.start(), match.end())
                legacy = self.legacy(ref) or self.catalog.lookup(None, ref.name)
                if legacy is None:
                    continue
                why = info.error or "unsupported syntax"
                message = (
                    f"This statement names the legacy view `{legacy.legacy}` but could not be parsed ({why})"
                )
                if history:
                    line = self.lines(path, text).line(match.start())
                    self.diagnostics.append(Diagnostic(path, line, "sql-parse", message))
                    continue
                message += ": check it by hand."
                self.findings.append(
                    self.finding("LR101", path, text, ref, legacy, f"{path}:<script>", message, None)
                )

    def named(self, ref: TableRef, search_path: tuple[str, ...]) -> tuple[ObjectName, LegacyObject | None]:
        """The object a reference names, and the legacy object it is if any: an unqualified name in
        `pg_catalog` first, then in the search path, as PostgreSQL looks it up."""
        legacy = self.legacy(ref, search_path)
        if legacy is not None:
            return legacy.legacy, legacy
        return resolve_name((ref.schema, ref.name), self.catalog.default_schema), None

    def legacy(self, ref: TableRef, search_path: tuple[str, ...] = ()) -> LegacyObject | None:
        """The legacy object a reference names: an unqualified name in the first schema of the search
        path the script set that holds a legacy object of that name, else the default schema's."""
        if ref.schema is None and ref.implied_schema is None:
            for schema in search_path:
                found = self.catalog.lookup(schema, ref.name)
                if found is not None:
                    return found
        return self.catalog.lookup(ref.schema or ref.implied_schema, ref.name)

    def script(
        self,
        path: str,
        text: str,
        info: StatementInfo,
        migration: tuple[int, int] | None = None,
        defines: frozenset[tuple[str | None, str]] = frozenset(),
        search_path: tuple[str, ...] = (),
    ) -> None:
        """A plain statement: each legacy name in a table position is LR101. In a migration (``migration``
        is its place in the history) it is history, reported only once the name is the view. A script's
        GRANT or COMMENT ON the view is one too, unless the file defines or drops the view (``defines``)."""
        for ref in info.refs:
            on_object = ref.position in _ON_OBJECT and migration is None
            if on_object and (ref.schema, ref.name) in defines:
                continue
            legacy = (
                self.legacy(ref, search_path)
                if ref.position not in _NOT_QUERY or ref.table_ddl or on_object
                else None
            )
            if legacy is None:
                continue
            point = self.points.get(legacy.legacy)
            if migration is not None and point is not None and migration < (point.file_index, point.offset):
                continue  # the name was still the table
            target = f"; use `{legacy.target}` instead" if legacy.target else ""
            message = f"This statement uses the legacy view `{legacy.legacy}`{target}."
            if ref.position == "lookup":
                message = f"This statement looks up the legacy view `{legacy.legacy}` {_BY_NAME}{target}."
            elif on_object:
                verb = "grants or revokes privileges on" if ref.position == "grant" else "comments on"
                message = (
                    f"This statement {verb} the legacy view `{legacy.legacy}`: it fails once the view is "
                    f"dropped{target}."
                )
            if ref.table_ddl:
                verb = {"create": "creates", "drop": "drops"}.get(ref.position, "alters")
                message = (
                    f"This statement {verb} a table named `{legacy.legacy}`, now the legacy view{target}."
                )
            finding = self.finding("LR101", path, text, ref, legacy, f"{path}:<script>", message, None)
            self.findings.append(finding if migration is None else replace(finding, context=MIGRATION))

    def compat_functions(self, objects: Iterable[_Object], history: bool) -> frozenset[ObjectName]:
        """The functions that triggers on legacy views execute: part of the compat layer."""
        return frozenset(
            obj.executes
            for obj in objects
            if obj.kind == "trigger" and obj.executes is not None and self.is_compat(obj, history)
        )

    def is_compat(self, obj: _Object, history: bool) -> bool:
        """The legacy view itself, or an INSTEAD OF trigger / rule on it, made once the name was the view.

        Other triggers on the view (AFTER ... FOR EACH STATEMENT, say) are somebody's object, not the layer.
        """
        if obj.kind == "trigger" and (obj.info.timing or "").lower() != "instead of":
            return False
        name = obj.own if obj.kind == "view" else obj.on if obj.kind in ("trigger", "rule") else None
        legacy = self.catalog.get(name) if name is not None else None
        if legacy is None:
            return False
        point = self.points.get(legacy.legacy) if history else None
        return obj.kind == "view" or point is None or obj.order >= (point.file_index, point.offset)

    def object(self, obj: _Object, compat_functions: frozenset[ObjectName], history: bool) -> None:
        """LR102 for each legacy name in the definition of a persistent object that exists."""
        compat = self.is_compat(obj, history) or (
            obj.kind in ("function", "procedure") and obj.own in compat_functions
        )
        depends: list[ObjectName] = []
        blocking: list[tuple[TableRef, LegacyObject]] = []
        search_path = obj.search_path
        for ref in obj.refs:
            # a qualifier is no dependency of its own (its statement reads the table in a FROM item), but it
            # breaks with the view as that FROM item does: reported at its place
            if ref.position in _NOT_DEPENDENCY and ref.position != "qualifier":
                continue
            name, legacy = self.named(ref, search_path)
            # a name looked up as text is resolved at run time, never bound by OID
            bound = obj.kind in _OID_BOUND or ref.position == "signature"  # a signature's types are, too
            if legacy is not None and history and bound and ref.position != "lookup":
                point = self.points.get(legacy.legacy)
                if point is not None and obj.order < (point.file_index, point.offset):
                    # bound by OID while the name was still the real table: PostgreSQL followed the rename
                    name, legacy = legacy.target or name, None
                elif point is None and _table_only(obj, ref, name):
                    # a view cannot carry it, so history made it on the table, which the rename took along
                    name, legacy = legacy.target or name, None
            if name not in depends and ref.position != "qualifier":
                depends.append(name)
            # a compat view over another legacy view still blocks it; the rest of the compat layer does not
            if legacy is not None and (not compat or obj.kind == "view"):
                blocking.append((ref, legacy))
        if not blocking and not compat:
            return
        line = self.lines(obj.path, obj.text).line(obj.info.start)
        self.db_objects.append(
            DbObject(obj.kind, obj.name, obj.path, line, tuple(depends), compat, obj.executes)
        )
        for ref, legacy in blocking:
            message = _lr102_message(obj, legacy, ref.position)
            block = f"{obj.path}:{obj.label}"
            self.findings.append(
                self.finding("LR102", obj.path, obj.text, ref, legacy, block, message, obj.label)
            )

    def finding(
        self,
        rule: str,
        path: str,
        text: str,
        ref: TableRef,
        legacy: LegacyObject,
        block: str,
        message: str,
        db_object: str | None,
    ) -> Finding:
        lines = self.lines(path, text)
        quoted = text[ref.name_start : ref.name_start + 1] == '"'
        # the finding points at the name itself, inside its quotes
        line, column = lines.position(ref.name_start + quoted)
        end_line, end_column = lines.position(ref.end - quoted)
        line_start = lines.starts[line - 1]
        line_end = text.find("\n", line_start)
        snippet = text[line_start : line_end if line_end >= 0 else len(text)].strip()
        return Finding(
            rule=rule,
            path=path,
            span=Span(line, column, end_line, end_column),
            legacy=legacy.legacy,
            target=legacy.target,
            block=block,
            confidence=Confidence.HIGH if ref.certain else Confidence.MEDIUM,
            message=message,
            snippet=snippet,
            suggestion=self.suggestion(text, lines, ref, legacy),
            db_object=db_object,
        )

    def suggestion(
        self, text: str, lines: LineIndex, ref: TableRef, legacy: LegacyObject
    ) -> Suggestion | None:
        if legacy.target is None:
            return None
        written = text[ref.start : ref.end]
        schema_written = ref.schema is not None
        default = rewrite_schema(
            ref.position, legacy.legacy, legacy.target, schema_written, self.catalog.default_schema
        )
        if default is None:
            return None
        replacement = rewrite_reference(written, schema_written, legacy.target, default)
        start, end = lines.position(ref.start), lines.position(ref.end)
        description = f"Use {legacy.target} instead of the legacy view {legacy.legacy}"
        if legacy.columns:
            description += " and rename columns " + ", ".join(
                f"{old} -> {new}" for old, new in legacy.columns
            )
        return Suggestion(Span(start[0], start[1], end[0], end[1]), replacement, description + ".")


_QUALIFIER = re.compile(r'(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))\s*\.\s*$')


def _word_ref(text: str, start: int, end: int) -> TableRef:
    """A name found by the text search, with the schema written before it (``public.x``) if any."""
    qualifier = _QUALIFIER.search(text, max(0, start - 80), start)
    schema = None
    begin = start
    if qualifier is not None:
        begin = qualifier.start()
        schema = qualifier.group(1).replace('""', '"') if qualifier.group(1) else qualifier.group(2).lower()
    return TableRef(begin, end, start, schema, text[start:end].lower(), "from", False)


def _table_only(obj: _Object, ref: TableRef, name: ObjectName) -> bool:
    """``ref`` is a relation PostgreSQL only accepts as a table, never a plain view: the target of a
    foreign key, or the relation of an index or of a row-level BEFORE/AFTER trigger."""
    if obj.kind == "foreign key":
        return ref.position == "references"
    if name != obj.on:
        return False
    if obj.kind == "index":
        return True
    return obj.kind == "trigger" and obj.info.row_level and (obj.info.timing or "") in ("before", "after")


_BY_NAME = "by name in the catalog (it finds the view until the drop, then nothing)"


def _lr102_message(obj: _Object, legacy: LegacyObject, position: str) -> str:
    target = f" (replaced by `{legacy.target}`)" if legacy.target else ""
    subject = f"{obj.kind.capitalize()} `{obj.name}` names the legacy view `{legacy.legacy}`{target}"
    if position == "lookup":
        return f"{subject} in a lookup {_BY_NAME}."
    if position == "signature":
        return (
            f"{subject} in its signature (the view's row type as an argument or result type): PostgreSQL "
            "refuses the DROP VIEW while it exists (without CASCADE)."
        )
    if obj.kind in ("function", "procedure"):
        return f"{subject}: PostgreSQL will not refuse the DROP VIEW, but the {obj.kind} fails at run time."
    return f"{subject}: PostgreSQL refuses the DROP VIEW while it exists (without CASCADE)."


def _definitions(
    path: str, text: str, info: StatementInfo, order: tuple[int, int], schema: str
) -> list[_Object]:
    """The persistent objects a statement defines (a CREATE TABLE / ALTER TABLE may define foreign keys)."""
    kind = _DEFINING.get(info.kind)
    on = resolve_name(info.on, schema) if info.on is not None else None
    if kind is not None and (info.name is not None or (kind == "index" and on is not None)):
        own = resolve_name(info.name, schema) if info.name is not None else None
        if kind in ("trigger", "policy", "rule") and on is not None and own is not None:
            display = f"{own.name} on {on}"
        elif kind == "index" and on is not None and (own is None or info.name[0] is None):  # type: ignore[index]
            # an index lives in its table's schema
            own = ObjectName(on.schema, own.name) if own is not None else None
            display = str(own) if own is not None else f"(unnamed) on {on}"
        else:
            display = str(own)
        executes = resolve_name(info.executes, schema) if info.executes is not None else None
        identity = None if own is not None else f"{path}:{info.start}"
        return [_Object(kind, display, path, text, info, order, info.refs, own, on, executes, identity)]
    if info.kind in ("create table", "alter table") and info.name is not None:
        table = resolve_name(info.name, schema)
        fks = tuple(r for r in info.refs if r.position == "references")
        if fks:
            constraint = info.constraint if info.kind == "alter table" else None
            display = f"{constraint or '(unnamed)'} on {table}"
            identity = None if constraint else f"{path}:{info.start}"  # unnamed ones are each distinct
            return [
                _Object("foreign key", display, path, text, info, order, fks, None, table, None, identity)
            ]
    return []


class _Replay:
    """The persistent objects that exist after applying migration statements in order."""

    def __init__(self, default_schema: str) -> None:
        self.schema = default_schema
        self.objects: dict[tuple[str, str], _Object] = {}
        # relation -> keys of the views named so and of the objects attached to it: a rename or a drop
        # finds them without a pass over every object (quadratic on thousands); stale keys are skipped
        self.related: dict[ObjectName, set[tuple[str, str]]] = {}

    def put(self, obj: _Object) -> None:
        self.objects[obj.key] = obj
        for name in (obj.own if obj.kind in ("view", "materialized view") else None, obj.on):
            if name is not None:
                self.related.setdefault(name, set()).add(obj.key)

    def apply(self, path: str, text: str, info: StatementInfo, order: tuple[int, int]) -> None:
        for obj in _definitions(path, text, info, order, self.schema):
            self.put(obj)
        verb = info.kind.split(" ", 1)[0]
        if verb == "drop":
            self._drop(info, text)
        elif verb == "alter" and info.name is not None:
            self._alter(info)

    def _drop(self, info: StatementInfo, text: str) -> None:
        kind = info.kind.removeprefix("drop ")
        on = resolve_name(info.on, self.schema) if info.on is not None else None
        for qname in info.names:
            name = resolve_name(qname, self.schema)
            if kind in ("view", "materialized view", "table"):
                self._drop_relation(name, bool(_CASCADE.search(text, info.start, info.end)))
            elif kind in ("function", "procedure"):
                self.objects.pop(("function", str(name)), None)
            elif kind in ("trigger", "policy", "rule") and on is not None:
                self.objects.pop((kind, f"{name.name} on {on}"), None)
            elif kind == "index":
                self._remove(lambda o, name=name: o.kind == "index" and o.own == name)  # type: ignore[misc]

    def _remove(
        self, doomed: Callable[[_Object], bool], among: Iterable[tuple[str, str]] | None = None
    ) -> list[_Object]:
        """Remove the objects ``doomed`` says, looking at every object or only at the keys ``among``."""
        pool = (
            self.objects.values()
            if among is None
            else [self.objects[k] for k in sorted(among) if k in self.objects]
        )
        removed = [o for o in pool if doomed(o)]
        for obj in removed:
            del self.objects[obj.key]
        return removed

    def _drop_relation(self, name: ObjectName, cascade: bool) -> None:
        """DROP a view/table: its triggers, policies, rules, indexes and foreign keys go too (and, with
        CASCADE, every OID-bound object that uses it)."""
        pending = [name]
        while pending:
            dropped = pending.pop()

            def doomed(obj: _Object, dropped: ObjectName = dropped) -> bool:
                if obj.kind in ("view", "materialized view") and obj.own == dropped:
                    return True
                if obj.on == dropped and (obj.kind in _ATTACHED or obj.kind == "foreign key"):
                    return True
                return (
                    cascade
                    and obj.kind in _OID_BOUND
                    and any(
                        resolve_name((r.schema, r.name), self.schema) == dropped
                        for r in obj.refs
                        if r.position not in _NOT_DEPENDENCY
                    )
                )

            # without CASCADE only the view itself and what is attached to it go: the index has them
            for obj in self._remove(doomed, None if cascade else self.related.get(dropped, set())):
                if obj.kind in ("view", "materialized view") and obj.own is not None and obj.own != dropped:
                    pending.append(obj.own)

    def _alter(self, info: StatementInfo) -> None:
        assert info.name is not None
        kind = info.kind.removeprefix("alter ")
        old = resolve_name(info.name, self.schema)
        if (
            kind == "table"
            and info.constraint is not None
            and not any(r.position == "references" for r in info.refs)
        ):
            self.objects.pop(("foreign key", f"{info.constraint} on {old}"), None)  # DROP CONSTRAINT
        new = old
        if info.rename_to is not None:
            new = ObjectName(old.schema, info.rename_to)
        if info.new_schema is not None:
            new = ObjectName(info.new_schema, old.name)
        if new == old:
            return
        if kind in ("table", "view", "materialized view"):
            for key in sorted(self.related.pop(old, ())):
                obj = self.objects.get(key)
                if obj is None or obj.key != key:
                    continue  # stale: dropped or replaced since
                moved = False
                if obj.own == old and obj.kind in ("view", "materialized view"):
                    obj.own, obj.name, moved = new, str(new), True
                if obj.on == old:
                    obj.on, moved = new, True
                    obj.name = obj.name.rsplit(" on ", 1)[0] + f" on {new}"
                if moved:
                    del self.objects[key]
                    self.put(obj)
        elif kind in ("function", "procedure"):
            obj = self.objects.pop(("function", str(old)), None)
            if obj is not None:
                obj.own, obj.name = new, str(new)
                self.put(obj)
        elif kind in ("trigger", "policy") and info.on is not None:
            on = resolve_name(info.on, self.schema)
            obj = self.objects.pop((kind, f"{old.name} on {on}"), None)
            if obj is not None:
                obj.name = f"{new.name} on {on}"
                self.put(obj)
