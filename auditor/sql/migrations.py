"""Build legacy catalog entries from migration files: the compatibility views they leave behind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from auditor.catalog.names import fold_identifier
from auditor.core.model import Diagnostic, LegacyObject, ObjectName
from auditor.core.source import LineIndex
from auditor.sql.refs import QName, StatementInfo, analyze_file, quiet_sqlglot


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
    evidence: list[str] = field(default_factory=list)
    computed: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a view definition is over its main table: the columns it renames, the ones it computes."""

    target: ObjectName
    columns: tuple[tuple[str, str], ...]  # view column -> main-table column, only when renamed
    computed: tuple[tuple[str, str], ...]  # view column -> the expression (or joined column) it shows
    sources: tuple[str, ...]  # main-table columns it shows
    star: bool  # every column of the main table, through `*`
    plain: bool  # no filter, no join, nothing computed
    output: tuple[str, ...] | None  # the view's columns (None: a `*` over a relation of unknown columns)


@dataclass(slots=True)
class _History:
    """What the replay knows besides the catalog entries."""

    former_tables: dict[ObjectName, str] = field(default_factory=dict)  # name -> how it stopped being one
    columns: dict[ObjectName, tuple[str, ...] | None] = field(default_factory=dict)  # None: unknown
    candidates: dict[ObjectName, tuple[_Shape, str, LegacyPoint]] = field(default_factory=dict)
    writes: dict[ObjectName, frozenset[ObjectName]] = field(default_factory=dict)  # function -> tables


def resolve_name(name: QName, default_schema: str) -> ObjectName:
    return ObjectName(name[0] or default_schema, name[1])


def catalog_from_migrations(files: Sequence[tuple[str, str]], default_schema: str) -> MigrationCatalog:
    """Walk the migrations in order and keep the compatibility views that exist at the end."""
    entries: dict[ObjectName, _Entry] = {}
    history = _History()
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
            _apply(info, text, point, entries, history, default_schema, diagnostics)
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
    text: str,
    point: LegacyPoint,
    entries: dict[ObjectName, _Entry],
    history: _History,
    schema: str,
    diagnostics: list[Diagnostic],
) -> None:
    where = f"{point.path}:{point.line}"
    if info.kind == "create view" and info.name is not None:
        name = resolve_name(info.name, schema)
        shape = _shape(info, schema, history.columns)
        history.columns[name] = shape.output if shape is not None else None
        known = entries.get(name)
        if known is not None:
            # a compatibility view stays one through CREATE OR REPLACE, computed columns and filters included
            if shape is not None and shape.target != name:
                known.target, known.columns, known.computed = shape.target, shape.columns, shape.computed
                known.source = where
            return
        if shape is None:
            if info.query is None:
                diagnostics.append(Diagnostic(point.path, point.line, "sql-parse",
                                              f"could not parse the definition of view {name}; "
                                              "it is not considered a compatibility view"))  # fmt: skip
            history.candidates.pop(name, None)
            return
        if shape.target == name:
            return
        evidence = _view_evidence(name, shape, history)
        if evidence:
            entries[name] = _Entry(name, shape.target, shape.columns, where, point, evidence, shape.computed)
        else:
            history.candidates[name] = (shape, where, point)  # an INSTEAD OF trigger may still make it one
    elif info.kind == "create table" and info.name is not None:
        name = resolve_name(info.name, schema)
        history.columns[name] = _table_columns(text[info.start : info.end])
        history.former_tables.pop(name, None)
    elif info.kind in ("create function", "create procedure") and info.name is not None:
        written = {resolve_name((r.schema, r.name), schema) for r in info.refs if r.position in _WRITES}
        history.writes[resolve_name(info.name, schema)] = frozenset(written)
    elif info.kind == "create trigger" and (info.timing or "") == "instead of" and info.on is not None:
        _instead_of_trigger(info, where, entries, history, schema)
    elif info.kind in ("drop view", "drop materialized view", "drop table"):
        for dropped in info.names:
            name = resolve_name(dropped, schema)
            entries.pop(name, None)
            history.candidates.pop(name, None)
            history.columns.pop(name, None)
            if info.kind == "drop table":
                history.former_tables[name] = f"table dropped at {where}"
    elif info.kind in ("alter view", "alter table", "alter materialized view") and info.name is not None:
        old = resolve_name(info.name, schema)
        new = old
        if info.rename_to is not None:
            new = ObjectName(old.schema, info.rename_to)
        if info.new_schema is not None:
            new = ObjectName(info.new_schema, old.name)
        if new != old:
            if info.kind == "alter table" and old not in entries:
                history.former_tables[old] = f"table renamed to {new} at {where}"
            history.columns[new] = history.columns.pop(old, None)
            _rename(entries, old, new)
        elif info.kind == "alter table":
            history.columns[old] = _altered_columns(text[info.start : info.end], history.columns.get(old))


_WRITES = frozenset({"insert", "update", "delete", "merge"})


def _view_evidence(name: ObjectName, shape: _Shape, history: _History) -> list[str]:
    """Why a new view is a compatibility view, or nothing: an ordinary view is not legacy."""
    evidence: list[str] = []
    if name in history.former_tables:
        evidence.append(f"was a table: {history.former_tables[name]}")
    if shape.plain:
        known = history.columns.get(shape.target)
        if shape.star:
            evidence.append(f"shows every column of {shape.target} (*), unfiltered")
        elif known is not None and set(known) <= set(shape.sources):
            evidence.append(f"shows every column of {shape.target}, unfiltered")
        elif known is None and shape.target not in history.columns:
            evidence.append(
                f"an unfiltered projection of {shape.target} (its columns are not in the migrations)"
            )
    return evidence


def _instead_of_trigger(
    info: StatementInfo, where: str, entries: dict[ObjectName, _Entry], history: _History, schema: str
) -> None:
    """An INSTEAD OF trigger whose function writes one table: the view forwards its writes there."""
    assert info.on is not None
    view = resolve_name(info.on, schema)
    function = resolve_name(info.executes, schema) if info.executes is not None else None
    tables = history.writes.get(function, frozenset()) if function is not None else frozenset()
    if len(tables) != 1:
        return
    (table,) = tables
    trigger = info.name[1] if info.name is not None else "(unnamed)"
    evidence = f"INSTEAD OF trigger {trigger} writes to {table} ({where})"
    if view in entries:
        entries[view].evidence.append(evidence)
    elif view in history.candidates:
        shape, source, point = history.candidates.pop(view)
        entries[view] = _Entry(view, shape.target, shape.columns, source, point, [evidence], shape.computed)


def _table_columns(statement: str) -> tuple[str, ...] | None:
    """The columns of a CREATE TABLE, or None when they cannot be read (LIKE, AS SELECT, parse error)."""
    tree = _parse(statement)
    schema = tree.this if isinstance(tree, exp.Create) else None
    if not isinstance(schema, exp.Schema) or tree.args.get("expression") is not None:
        return None
    names = []
    for column in schema.expressions:
        if isinstance(column, exp.ColumnDef):
            names.append(_ident(column.this) or "")
        elif not isinstance(column, exp.Expression) or column.key not in _CONSTRAINT_KEYS:
            return None  # LIKE other_table, or something not understood: columns unknown
    return tuple(names)


_CONSTRAINT_KEYS = frozenset({"constraint", "primarykey", "foreignkey", "unique", "check", "exclude"})


def _altered_columns(statement: str, columns: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The columns after ALTER TABLE ADD / DROP / RENAME COLUMN (None when not understood)."""
    if columns is None:
        return None
    tree = _parse(statement)
    if not isinstance(tree, exp.Alter):
        return columns if tree is not None else None
    out = list(columns)
    for action in tree.args.get("actions") or ():
        if isinstance(action, exp.ColumnDef):
            out.append(_ident(action.this) or "")
        elif isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
            dropped = _ident(action.this.this if isinstance(action.this, exp.Column) else action.this)
            out = [c for c in out if c != dropped]
        elif isinstance(action, exp.RenameColumn):
            old, new = (
                _ident(action.this.this if isinstance(action.this, exp.Column) else action.this),
                _ident(
                    action.args.get("to").this
                    if isinstance(action.args.get("to"), exp.Column)
                    else action.args.get("to")
                ),
            )
            out = [new or c if c == old else c for c in out]
    return tuple(out)


def _column_name(node: object) -> str | None:
    return _ident(node.this if isinstance(node, exp.Column) else node)


def _parse(statement: str) -> exp.Expression | None:
    try:
        with quiet_sqlglot():
            return sqlglot.parse_one(statement, read="postgres")
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
        return None


def _rename(entries: dict[ObjectName, _Entry], old: ObjectName, new: ObjectName) -> None:
    """A renamed relation: the legacy name moves with a view; a compat view follows its renamed target."""
    moved = entries.pop(old, None)
    if moved is not None:
        moved.legacy = new
        entries[new] = moved
    for entry in entries.values():
        if entry.target == old:
            entry.target = new


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
        out.append(
            LegacyObject(entry.legacy, target, "view", entry.source, tuple(columns.items()),
                         tuple(entry.evidence), entry.computed)
        )  # fmt: skip
    return out


_NOT_A_PROJECTION = ("group", "having", "distinct", "windows", "qualify", "limit", "offset", "with_",
                     "laterals", "into", "pivots")  # fmt: skip


def _shape(
    info: StatementInfo, default_schema: str, known_columns: dict[ObjectName, tuple[str, ...] | None]
) -> _Shape | None:
    """The view over its main table (the first in FROM; joined tables are lookups), or None when it is not
    row-for-row over one table (aggregates, DISTINCT, set operations, windows...)."""
    query = info.query
    if not isinstance(query, exp.Select) or any(query.args.get(key) for key in _NOT_A_PROJECTION):
        return None
    if query.find(exp.AggFunc, exp.Window) is not None:
        return None
    source = query.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        return None
    target = ObjectName(_ident(table.args.get("db")) or default_schema, _ident(table.this) or "")
    main = {_ident(table.this), _ident(table.args.get("alias"))} - {None}
    joins = bool(query.args.get("joins"))
    pairs: list[tuple[str, str]] = []
    computed: list[tuple[str, str]] = []
    star = False
    for item in query.expressions:
        column, alias = (
            (item.this, _ident(item.args.get("alias"))) if isinstance(item, exp.Alias) else (item, None)
        )
        qualifier = _ident(column.args.get("table")) if isinstance(column, exp.Column) else None
        own = qualifier is None or qualifier in main
        if isinstance(column, exp.Star) or (
            isinstance(column, exp.Column) and isinstance(column.this, exp.Star)
        ):
            if not own or alias is not None:
                return None  # every column of a lookup table: not the main table's shape
            star = True
        elif isinstance(column, exp.Column) and isinstance(column.this, exp.Identifier) and own:
            source_name = _ident(column.this) or ""
            pairs.append((alias or source_name, source_name))
        else:
            expression = column.sql(dialect="postgres")
            computed.append((alias or _output_name(column), expression))
    outputs = [out for out, _ in pairs] + [out for out, _ in computed]
    if info.columns and not star:
        renamed = dict(zip(outputs, info.columns, strict=False))
        pairs = [(renamed.get(out, out), src) for out, src in pairs]
        computed = [(renamed.get(out, out), expr) for out, expr in computed]
    elif info.columns:
        pairs = []  # the column list renames columns we cannot see: no mapping
    output: tuple[str, ...] | None = tuple(out for out, _ in pairs) + tuple(out for out, _ in computed)
    if star:
        expanded = known_columns.get(target)
        output = None if expanded is None or info.columns else (*expanded, *output)
    return _Shape(
        target=target,
        columns=tuple((out, src) for out, src in pairs if out != src),
        computed=tuple(computed),
        sources=tuple(src for _, src in pairs),
        star=star,
        plain=not joins and not computed and query.args.get("where") is None,
        output=output,
    )


def _output_name(expression: exp.Expression) -> str:
    """PostgreSQL's name for an unnamed view column: a column's name, a function's name, else ?column?."""
    if isinstance(expression, exp.Column):
        return _ident(expression.this) or "?column?"
    if isinstance(expression, exp.Func):
        return expression.sql_name().lower()
    return "?column?"


def _ident(node: object) -> str | None:
    if isinstance(node, exp.TableAlias):
        node = node.this
    if not isinstance(node, exp.Identifier):
        return None
    return node.this if node.args.get("quoted") else fold_identifier(node.this)


def view_projection(
    info: StatementInfo, default_schema: str
) -> tuple[ObjectName, tuple[tuple[str, str], ...]] | None:
    """(target, renamed columns) when the view is a plain projection of one table (no filter, join or
    computed column), else None: the live database's test for a compatibility view."""
    shape = _shape(info, default_schema, {})
    if shape is None or not shape.plain:
        return None
    return shape.target, shape.columns
