"""The compatibility views as the live database has them, and their drift from the migrations.

A view is a compatibility view when its definition (``pg_get_viewdef``) is a projection of one relation,
the same test the migrations catalog applies; computed columns are listed, not guessed at. Only the
schemas the catalog is about are read (the default schema and those of known legacy names), so the
platform's own schemas (``auth``, ``storage``, extensions) never become legacy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from auditor.catalog.names import LegacyCatalog
from auditor.core.model import Confidence, Finding, LegacyObject, ObjectName, Span
from auditor.database.connect import Session
from auditor.sql.migrations import resolve_name, view_projection
from auditor.sql.refs import StatementInfo, analyze_sql

_VIEWS_QUERY = """
SELECT c.oid::bigint AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
       pg_get_viewdef(c.oid) AS definition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                  AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY 2, 3
"""

# INSTEAD OF row triggers (tgtype bit 6) on views, and the function each runs
_INSTEAD_OF_QUERY = """
SELECT t.tgrelid::bigint AS relid, t.tgname AS trigger, pn.nspname AS fschema, p.proname AS fname
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE NOT t.tgisinternal AND (t.tgtype & 64) <> 0 AND t.tgrelid = ANY(%s)
ORDER BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class LiveView:
    """A view (or materialized view) as the database has it."""

    oid: int
    name: ObjectName
    kind: str  # "view" or "materialized view"
    definition: str
    target: ObjectName | None  # set for a compatibility view: the one relation it projects
    renamed: tuple[tuple[str, str], ...] = ()  # view column -> target column
    computed: tuple[str, ...] = ()  # view columns computed from an expression
    instead_of: tuple[str, ...] = ()  # its INSTEAD OF triggers: "trg on schema.view"
    functions: tuple[ObjectName, ...] = ()  # the functions those triggers run

    @property
    def is_compat(self) -> bool:
        return self.target is not None and self.target != self.name


def read_views(session: Session, schemas: Iterable[str], default_schema: str) -> list[LiveView]:
    """Every view and materialized view of ``schemas`` (extension members left out)."""
    rows = session.rows(_VIEWS_QUERY, [sorted(set(schemas))])
    triggers: dict[int, list[tuple[str, ObjectName]]] = {}
    if rows:
        for row in session.rows(_INSTEAD_OF_QUERY, [[r["oid"] for r in rows]]):
            function = ObjectName(row["fschema"], row["fname"])
            triggers.setdefault(int(row["relid"]), []).append((row["trigger"], function))
    views: list[LiveView] = []
    for row in rows:
        name = ObjectName(row["schema"], row["name"])
        kind = "materialized view" if row["relkind"] == "m" else "view"
        definition = str(row["definition"] or "").strip().rstrip(";")
        target, renamed, computed = _shape(name, kind, definition, default_schema)
        attached = triggers.get(int(row["oid"]), [])
        views.append(
            LiveView(
                oid=int(row["oid"]),
                name=name,
                kind=kind,
                definition=definition,
                target=target,
                renamed=renamed,
                computed=computed,
                instead_of=tuple(f"{trigger} on {name}" for trigger, _ in attached),
                functions=tuple(sorted({f for _, f in attached}, key=str)),
            )
        )
    return views


def _shape(
    name: ObjectName, kind: str, definition: str, default_schema: str
) -> tuple[ObjectName | None, tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(target, renamed columns, computed columns) of a projection of one relation, else (None, (), ())."""
    infos = analyze_sql(f'CREATE {kind.upper()} "{name.schema}"."{name.name}" AS {definition}')
    if len(infos) != 1 or kind != "view":
        return None, (), ()
    info = infos[0]
    projection = view_projection(info, default_schema)
    if projection is not None:
        return projection[0], projection[1], ()
    # computed columns: the projection of the plain columns, with the computed ones listed
    query = info.query
    if not isinstance(query, exp.Select):
        return None, (), ()
    plain = [e for e in query.expressions if isinstance(e.unalias(), exp.Column)]
    computed = [e.alias_or_name for e in query.expressions if not isinstance(e.unalias(), exp.Column)]
    if not plain or not computed:
        return None, (), ()
    stripped = query.copy()
    stripped.set("expressions", [e.copy() for e in plain])
    projection = view_projection(dataclasses.replace(info, query=stripped), default_schema)
    if projection is None:
        return None, (), ()
    return projection[0], projection[1], tuple(computed)


# reference positions that do not use the relation: its definition, drop, grants, comments
_NOT_USE = frozenset({"create", "drop", "grant", "comment", "alter"})
# statements that define objects (migrations run through the server too) use no view
_DEFINING = frozenset({"create", "alter", "drop", "grant", "revoke", "comment", "security"})


def legacy_in_sql(text: str, catalog: LegacyCatalog, definitions: bool = True) -> list[ObjectName]:
    """The legacy views ``text`` uses (unqualified names in the default schema), in order of appearance;
    ``definitions=False`` leaves out statements that define objects."""
    names: list[ObjectName] = []
    lowered = text.lower()
    if not any(name.lower() in lowered for name in catalog.bare_names):
        return names  # most bodies and statements name no legacy view: no parse
    for info in analyze_sql(text):
        if not definitions and info.kind.split(" ", 1)[0] in _DEFINING:
            continue
        for ref in info.refs:
            if ref.position in _NOT_USE:
                continue
            entry = catalog.get(resolve_name((ref.schema, ref.name), catalog.default_schema))
            if entry is not None and entry.legacy not in names:
                names.append(entry.legacy)
    return names


def catalog_schemas(catalog: LegacyCatalog) -> set[str]:
    """The schemas whose views may be compatibility views."""
    return {catalog.default_schema} | {o.legacy.schema for o in catalog.objects}


def with_live_views(catalog: LegacyCatalog, views: Sequence[LiveView]) -> LegacyCatalog:
    """The catalog plus the compatibility views only the database has (a later source never loses)."""
    objects = list(catalog.objects)
    known = {o.legacy for o in objects}
    for view in views:
        if view.is_compat and view.name not in known:
            objects.append(LegacyObject(view.name, view.target, "view", f"db:{view.name}", view.renamed))
    return LegacyCatalog(objects, catalog.default_schema)


def migration_views(
    statements: Mapping[str, list[StatementInfo]], order: Sequence[str], schema: str
) -> set[ObjectName]:
    """The views the migrations leave defined (created, not dropped since; renames followed)."""
    views: set[ObjectName] = set()
    for path in order:
        for info in statements.get(path, ()):
            if info.kind in ("create view", "create materialized view") and info.name is not None:
                views.add(resolve_name(info.name, schema))
            elif info.kind in ("drop view", "drop materialized view"):
                views -= {resolve_name(n, schema) for n in info.names}
            elif info.kind in ("alter view", "alter materialized view") and info.name is not None:
                old = resolve_name(info.name, schema)
                if old in views and (info.rename_to or info.new_schema):
                    views.discard(old)
                    views.add(ObjectName(info.new_schema or old.schema, info.rename_to or old.name))
    return views


@dataclass(frozen=True, slots=True)
class Drift:
    legacy: ObjectName
    kind: str  # "only-in-database", "missing-in-database", "differs"
    detail: str
    migration: str | None  # "path:line" of the migration's definition


def compare(
    migrations: Sequence[LegacyObject], defined: set[ObjectName], views: Sequence[LiveView]
) -> list[Drift]:
    """The compatibility views of the migrations against those of the database.

    ``migrations``: the catalog entries the migrations made; ``defined``: every view they leave defined.
    """
    live = {v.name: v for v in views}
    out: list[Drift] = []
    for entry in migrations:
        view = live.get(entry.legacy)
        if view is None:
            out.append(Drift(entry.legacy, "missing-in-database",
                             "the migrations define this compatibility view; the database has no such view",
                             entry.source))  # fmt: skip
            continue
        differences: list[str] = []
        target = _final_target(view, live)
        if target != entry.target:
            differences.append(f"it projects {target or 'more than one relation'}, "
                               f"the migrations {entry.target}")  # fmt: skip
        elif dict(view.renamed) != dict(entry.columns):
            differences.append(f"renamed columns {_columns(view.renamed)} in the database, "
                               f"{_columns(entry.columns)} in the migrations")  # fmt: skip
        if view.computed:
            differences.append("computed columns " + ", ".join(view.computed) + " in the database")
        if differences:
            out.append(Drift(entry.legacy, "differs", "; ".join(differences), entry.source))
    for view in views:
        if view.is_compat and view.name not in defined:
            detail = f"a compatibility view over {view.target} that no migration defines"
            out.append(Drift(view.name, "only-in-database", detail, None))
    return sorted(out, key=lambda d: (str(d.legacy), d.kind))


def _final_target(view: LiveView, live: Mapping[ObjectName, LiveView]) -> ObjectName | None:
    """A compatibility view over another one projects, in the end, the last one's target."""
    target, seen = view.target, {view.name}
    while target in live and live[target].is_compat and target not in seen:
        seen.add(target)
        target = live[target].target
    return target


def _columns(pairs: Iterable[tuple[str, str]]) -> str:
    return "(" + ", ".join(f"{old} -> {new}" for old, new in pairs) + ")" if pairs else "(none)"


def location(source: str | None, name: object) -> tuple[str, int]:
    """``path:line`` of a migration, else ``db:<name>`` (line 1)."""
    if source and ":" in source and not source.startswith("db:"):
        path, _, line = source.rpartition(":")
        if line.isdigit():
            return path, int(line)
    return f"db:{name}", 1


def drift_findings(drifts: Sequence[Drift], catalog: LegacyCatalog) -> list[Finding]:
    """LR106 for each drift, at the migration that defines the view, else at ``db:schema.view``."""
    findings: list[Finding] = []
    for drift in drifts:
        entry = catalog.get(drift.legacy)
        path, line = location(drift.migration, drift.legacy)
        findings.append(
            Finding(
                rule="LR106",
                path=path,
                span=Span(line, 1, line, 1),
                legacy=drift.legacy,
                target=entry.target if entry is not None else None,
                block=f"db:view {drift.legacy}",
                confidence=Confidence.HIGH,
                message=f"Catalog drift ({drift.kind}) on `{drift.legacy}`: {drift.detail}.",
                snippet=f"view {drift.legacy}: {drift.kind}",
            )
        )
    return findings
