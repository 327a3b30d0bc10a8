"""What a column qualifier (`legacy.id`, `"legacy"."owner_id"`, `legacy.*`) names, by the statement's scopes.

PostgreSQL binds a qualifier to the nearest enclosing query level whose FROM items expose that name: a
table written without an alias exposes its own name, an aliased table, a subquery or a CTE exposes the
alias. `FROM items AS legacy` makes `legacy.x` a column of items; `FROM legacy AS l` hides the name
`legacy` (PostgreSQL then rejects `legacy.x`, and the qualifier still names the legacy table in the text).
Query levels come from sqlglot's scopes (optimizer.scope); DML statements, which sqlglot does not scope,
expose their target table and their FROM/USING items the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

_LOG = logging.getLogger("sqlglot")
_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
_DML_SOURCE_KEYS = ("this", "from", "from_", "joins", "using")


@dataclass(frozen=True, slots=True)
class QualifierBinding:
    """A qualifier either names a table (``schema`` as the FROM item wrote it) or is shadowed (``reason``)."""

    names_table: bool
    schema: str | None = None  # the schema of the FROM item it binds to, when that item wrote one
    reason: str | None = None  # why it is not the table: "CTE", ... (see ``why``)
    # an aliased FROM item that takes the name: written out only when asked (sqlglot's generator is slow,
    # and most qualifiers bound to an alias are never a legacy name)
    alias_of: exp.Expr | None = None

    def why(self) -> str | None:
        """Why the qualifier is not the table: "shadowed by an alias of items AS legacy", ..."""
        if self.alias_of is not None:
            return f"shadowed by an alias of {self.alias_of.sql(dialect='postgres')}"
        return self.reason


class QualifierScopes:
    """The query levels of one parse tree, built once and asked for each qualifier in it."""

    def __init__(self, tree: exp.Expr) -> None:
        disabled = _LOG.disabled
        _LOG.disabled = True  # sqlglot logs each tree it cannot scope; that is expected input here
        try:
            scopes = traverse_scope(tree)
        except Exception:  # sqlglot's scoping rejects some valid trees; levels are then read from the nodes
            scopes = []
        finally:
            _LOG.disabled = disabled
        self._scopes: dict[int, Scope] = {id(s.expression): s for s in scopes}

    def bind(self, column: exp.Column, name: str) -> QualifierBinding:
        """What the qualifier ``name`` (folded) of ``column`` refers to."""
        node = column.parent
        while node is not None:
            found = self._sources(node).get(name)
            if found is not None:
                return _binding(found, name)
            node = node.parent
        return QualifierBinding(True)  # bound by no FROM item: a fragment, or an error that names the table

    def whole_row(self, column: exp.Column, name: str) -> QualifierBinding | None:
        """For an unqualified ``column`` (folded ``name``): the binding when it is the whole row of a table
        a FROM item of an enclosing level writes without an alias (`RETURNING legacy`, `to_json(legacy)`);
        None when no level exposes that table by its own name (a column, or an alias)."""
        node = column.parent
        while node is not None:
            found = self._sources(node).get(name)
            if found is not None:
                binding = _binding(found, name)
                return binding if binding.names_table and isinstance(found, exp.Table) else None
            node = node.parent
        return None

    def _sources(self, node: exp.Expr) -> dict[str, exp.Expr | Scope]:
        scope = self._scopes.get(id(node))
        if scope is not None:
            return {k.lower(): v for k, v in scope.sources.items()}
        if isinstance(node, _DML):
            return _dml_sources(node)
        if isinstance(node, exp.Select):  # a level sqlglot did not scope
            return _dml_sources(node)
        return {}


def cte_named(table: exp.Table, name: str) -> bool:
    """An unqualified table name that a CTE of an enclosing statement defines (outside that CTE's own body,
    unless the WITH is recursive)."""
    if table.args.get("db"):
        return False
    node: exp.Expr | None = table
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with")
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                alias = cte.args.get("alias")
                if (
                    alias is not None
                    and isinstance(alias.this, exp.Identifier)
                    and _fold_ident(alias.this) == name
                ):
                    inside = table.find_ancestor(exp.CTE) is cte
                    return not inside or bool(with_.args.get("recursive"))
        node = node.parent
    return False


def _binding(source: exp.Expr | Scope, name: str) -> QualifierBinding:
    if isinstance(source, Scope):
        expression = source.expression
        kind = "a CTE" if isinstance(expression.parent, exp.CTE) else "a subquery alias"
        return QualifierBinding(False, reason=f"shadowed by {kind} named {name}")
    if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
        real = _fold_ident(source.this)
        alias = source.args.get("alias")
        if real == name and not (alias and _fold_ident(alias.this) != name):
            if cte_named(source, name):
                return QualifierBinding(False, reason=f"shadowed by a CTE named {name}")
            db = source.args.get("db")
            return QualifierBinding(True, _fold_ident(db) if isinstance(db, exp.Identifier) else None)
        return QualifierBinding(False, alias_of=source)
    if isinstance(source, exp.CTE):
        return QualifierBinding(False, reason=f"shadowed by a CTE named {name}")
    return QualifierBinding(False, reason=f"shadowed by a FROM item named {name}")


def _dml_sources(node: exp.Expr) -> dict[str, exp.Expr | Scope]:
    """The names a statement level exposes: its target, FROM/USING/JOIN items, and its CTEs."""
    sources: dict[str, exp.Expr | Scope] = {}
    items: list[exp.Expr] = []
    for key in _DML_SOURCE_KEYS:
        value = node.args.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (exp.From, exp.Join, exp.Schema)):
                item = item.this
            if isinstance(item, exp.Expr):
                items.append(item)
    for item in items:
        alias = item.args.get("alias")
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            key = _fold_ident(alias.this) if alias and alias.this else _fold_ident(item.this)
            sources.setdefault(key, item)
        elif alias is not None and isinstance(alias.this, exp.Identifier):
            sources.setdefault(_fold_ident(alias.this), item)
    with_ = node.args.get("with_") or node.args.get("with")
    if isinstance(with_, exp.With):
        for cte in with_.expressions:
            alias = cte.args.get("alias")
            if alias is not None and isinstance(alias.this, exp.Identifier):
                sources.setdefault(_fold_ident(alias.this), cte)
    return sources


def _fold_ident(ident: exp.Expr) -> str:
    text = ident.this if isinstance(ident.this, str) else ident.name
    return text if ident.args.get("quoted") else text.lower()
