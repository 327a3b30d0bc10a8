"""Build legacy catalog entries from migration files: the compatibility views they leave behind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from auditor.catalog.names import fold_identifier
from auditor.core.model import Diagnostic, LegacyObject, ObjectName
from auditor.core.source import LineIndex
from auditor.sql.refs import QName, StatementInfo, analyze_file


@dataclass(frozen=True, slots=True, order=True)
class LegacyPoint:
    """The statement where a name became legacy; ordered by application order."""

    file_index: int  # position of the file in the migration order
    offset: int  # offset of the statement in that file
    path: str = field(compare=False)
    line: int = field(compare=False)  # 1-based line of the statement's first token


@dataclass(frozen=True, slots=True)
class MigrationCatalog:
    objects: tuple[LegacyObject, ...]
    became_legacy: dict[ObjectName, LegacyPoint]
    diagnostics: tuple[Diagnostic, ...]
    order: tuple[str, ...] = ()  # the migration paths in application order
    statements: dict[str, list[StatementInfo]] = field(default_factory=dict)  # analysed once, reused


@dataclass(slots=True)
class _Entry:
    legacy: ObjectName
    target: ObjectName
    columns: tuple[tuple[str, str], ...]
    source: str
    point: LegacyPoint


def resolve_name(name: QName, default_schema: str) -> ObjectName:
    return ObjectName(name[0] or default_schema, name[1])


def catalog_from_migrations(files: Sequence[tuple[str, str]], default_schema: str) -> MigrationCatalog:
    """Walk the migrations in order and keep the compatibility views that exist at the end."""
    entries: dict[ObjectName, _Entry] = {}
    over: dict[ObjectName, set[ObjectName]] = {}  # target -> legacy names whose view is over it
    diagnostics: list[Diagnostic] = []
    statements: dict[str, list[StatementInfo]] = {}
    for file_index, (path, text) in enumerate(files):
        infos, failure = analyze_file(path, text)
        if failure is not None:
            diagnostics.append(failure)
        statements[path] = infos
        lines = LineIndex(text)
        for info in infos:
            point = LegacyPoint(file_index, info.start, path, lines.line(info.start))
            _apply(info, point, entries, over, default_schema, diagnostics)
    objects = _resolve_chains(entries)
    return MigrationCatalog(
        objects=tuple(objects),
        became_legacy={e.legacy: e.point for e in entries.values()},
        diagnostics=tuple(diagnostics),
        order=tuple(path for path, _ in files),
        statements=statements,
    )


def _apply(
    info: StatementInfo,
    point: LegacyPoint,
    entries: dict[ObjectName, _Entry],
    over: dict[ObjectName, set[ObjectName]],
    default_schema: str,
    diagnostics: list[Diagnostic],
) -> None:
    if info.kind == "create view" and info.name is not None:
        name = resolve_name(info.name, default_schema)
        projection = _projection(info, default_schema)
        if projection is None:
            if info.query is None:
                diagnostics.append(Diagnostic(point.path, point.line, "sql-parse",
                                              f"could not parse the definition of view {name}; "
                                              "it is not considered a compatibility view"))  # fmt: skip
            entries.pop(name, None)
            return
        target, columns = projection
        if target == name:
            return
        known = entries.get(name)
        entries[name] = _Entry(name, target, columns, f"{point.path}:{point.line}",
                               known.point if known is not None else point)  # fmt: skip
        over.setdefault(target, set()).add(name)
    elif info.kind in ("drop view", "drop materialized view", "drop table"):
        for dropped in info.names:
            entries.pop(resolve_name(dropped, default_schema), None)
    elif info.kind in ("alter view", "alter table", "alter materialized view") and info.name is not None:
        old = resolve_name(info.name, default_schema)
        if info.rename_to is not None:
            _rename(entries, over, old, ObjectName(old.schema, info.rename_to))
        if info.new_schema is not None:
            _rename(entries, over, old, ObjectName(info.new_schema, old.name))


def _rename(
    entries: dict[ObjectName, _Entry],
    over: dict[ObjectName, set[ObjectName]],
    old: ObjectName,
    new: ObjectName,
) -> None:
    """A renamed relation: the legacy name moves with a view; a compat view follows its renamed target.
    ``over`` (target -> legacy names) finds those views without a pass over all of them, which made
    thousands of renames quadratic; it may hold stale names, so each one is checked."""
    moved = entries.pop(old, None)
    if moved is not None:
        moved.legacy = new
        entries[new] = moved
        over.setdefault(moved.target, set()).add(new)
    for name in sorted(over.pop(old, ()), key=str):
        entry = entries.get(name)
        if entry is not None and entry.target == old:
            entry.target = new
            over.setdefault(new, set()).add(name)


def _resolve_chains(entries: dict[ObjectName, _Entry]) -> list[LegacyObject]:
    """A compat view over another compat view is legacy for the final target, with composed renames."""
    out: list[LegacyObject] = []
    for entry in entries.values():
        target, columns, seen = entry.target, dict(entry.columns), {entry.legacy}
        while target in entries and target not in seen:
            seen.add(target)
            inner = entries[target]
            inner_map = dict(inner.columns)
            renamed = {outer: inner_map.get(mid, mid) for outer, mid in columns.items()}
            for mid, final in inner_map.items():
                if mid not in columns.values() and mid not in renamed:
                    renamed[mid] = final  # passed through the outer view unchanged
            columns = {k: v for k, v in renamed.items() if k != v}
            target = inner.target
        out.append(LegacyObject(entry.legacy, target, "view", entry.source, tuple(columns.items())))
    return out


def _projection(
    info: StatementInfo, default_schema: str
) -> tuple[ObjectName, tuple[tuple[str, str], ...]] | None:
    """(target, renamed columns) when the view is a plain projection of one table, else None."""
    query = info.query
    if not isinstance(query, exp.Select):
        return None
    for key in ("joins", "group", "having", "distinct", "windows", "qualify", "limit", "offset", "with_",
                "laterals", "into", "pivots"):  # fmt: skip
        if query.args.get(key):
            return None
    source = query.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    if (
        not isinstance(table, exp.Table)
        or not isinstance(table.this, exp.Identifier)
        or table.args.get("joins")
    ):
        return None
    target = ObjectName(_ident(table.args.get("db")) or default_schema, _ident(table.this) or "")
    pairs: list[tuple[str, str]] = []
    star = False
    for item in query.expressions:
        column, alias = (
            (item.this, _ident(item.args.get("alias"))) if isinstance(item, exp.Alias) else (item, None)
        )
        if isinstance(column, exp.Star) or (
            isinstance(column, exp.Column) and isinstance(column.this, exp.Star)
        ):
            if alias is not None:
                return None
            star = True
            continue
        if not isinstance(column, exp.Column) or not isinstance(column.this, exp.Identifier):
            return None
        source_name = _ident(column.this) or ""
        pairs.append((alias or source_name, source_name))
    if info.columns:
        if star:
            return target, ()  # the column list renames columns we cannot see: no mapping
        pairs = [(out, src) for out, (_, src) in zip(info.columns, pairs, strict=False)]
    return target, tuple((out, src) for out, src in pairs if out != src)


def _ident(node: object) -> str | None:
    if isinstance(node, exp.TableAlias):
        node = node.this
    if not isinstance(node, exp.Identifier):
        return None
    return node.this if node.args.get("quoted") else fold_identifier(node.this)
