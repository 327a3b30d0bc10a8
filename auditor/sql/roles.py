"""The role of each identifier in parsed SQL (sqlglot): a relation it names, or why it names none (a column,
an alias, a CTE, a schema). Asked through sql/analyses.py, which remembers the roles by text."""

from __future__ import annotations

from sqlglot import exp

from auditor.sql.analyses import REFERENCE
from auditor.sql.qualifiers import QualifierScopes, cte_named
from auditor.sql.refs import parse_statement
from auditor.sql.statements import split_statements

_STATEMENTS = (
    exp.Query,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Copy,
)


def parse_word_roles(sql: str) -> dict[int, str]:
    """Offset of the first character of each identifier's name -> its role (REFERENCE or a reason)."""
    roles: dict[int, str] = {}
    for statement in split_statements(sql):
        tree = parse_statement(statement.text)
        if not isinstance(tree, _STATEMENTS):
            continue  # a bare word or expression parses as a column: only whole statements tell roles
        scopes = QualifierScopes(tree)
        for ident in tree.find_all(exp.Identifier):
            start = ident.meta.get("start")
            if start is None:
                continue
            quoted = statement.text[start : start + 1] == '"'
            roles[statement.start + start + quoted] = _role(ident, scopes)
    return roles


def _role(ident: exp.Identifier, scopes: QualifierScopes) -> str:
    parent, key = ident.parent, ident.arg_key
    if isinstance(parent, exp.Table):
        if key != "this":
            return "a schema name"
        return (
            "a CTE of the same name"
            if cte_named(parent, ident.name if ident.quoted else ident.name.lower())
            else REFERENCE
        )
    if isinstance(parent, exp.Column):
        if key == "table":
            binding = scopes.bind(parent, ident.name if ident.quoted else ident.name.lower())
            return REFERENCE if binding.names_table else f"a column qualifier {binding.why()}"
        return "a column name" if key == "this" else "a schema name"
    if isinstance(parent, exp.TableAlias):
        return "the name of a CTE" if isinstance(parent.parent, exp.CTE) else "a table alias"
    if isinstance(parent, exp.Alias):
        return "an output column alias"
    if isinstance(parent, exp.ColumnDef):
        return "a column definition"
    return f"a name that is not a table ({type(parent).__name__.lower()})"
