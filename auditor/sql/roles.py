"""The role of each identifier in parsed SQL (sqlglot): a relation it names, or why it names none (a column,
an alias, a CTE, a schema). Asked through sql/analyses.py, which remembers the roles by text."""

from __future__ import annotations

import re

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
    exp.Grant,
    exp.Revoke,
    exp.Comment,
)


def parse_word_roles(sql: str) -> dict[int, str]:
    """Offset of the first character of each identifier's name -> its role (REFERENCE or a reason)."""
    roles: dict[int, str] = {}
    for statement in split_statements(sql):
        for base, text in _sql_parts(statement.text):
            tree = parse_statement(text)
            if not isinstance(tree, _STATEMENTS):
                continue  # a bare word or expression parses as a column: only whole statements tell roles
            scopes = QualifierScopes(tree)
            for ident in tree.find_all(exp.Identifier):
                start = ident.meta.get("start")
                if start is None:
                    continue
                quoted = text[start : start + 1] == '"'
                roles[statement.start + base + start + quoted] = _role(ident, scopes)
    return roles


# PL/pgSQL control words before the SQL statement of a routine body's line (`BEGIN SELECT ...`,
# `IF found THEN UPDATE ...`, `FOR r IN SELECT ... LOOP`, `RETURN QUERY SELECT ...`)
_CONTROL = re.compile(
    r"\A(?:\s*(?:<<\w+>>|begin\b|else\b|loop\b|return\s+query\b|for\s+\w+(?:\s*,\s*\w+)*\s+in\b"
    r"|(?:if|elsif|elseif|when|while)\b[^;]*?\bthen\b|exception\s+when\b[^;]*?\bthen\b))+",
    re.IGNORECASE,
)
_SQL_START = re.compile(r"\s*(?:select|insert|update|delete|with|merge)\b", re.IGNORECASE)
_LOOP = re.compile(r"\bloop\b", re.IGNORECASE)


def _sql_parts(text: str) -> list[tuple[int, str]]:
    """The statement itself, or, when it opens with PL/pgSQL control words, the SQL after them (and the
    SQL after a FOR ... IN query's LOOP), each with its offset in ``text``."""
    lead = _CONTROL.match(text)
    if lead is None or not _SQL_START.match(text, lead.end()):
        return [(0, text)]
    start = lead.end()
    loop = _LOOP.search(text, start) if _LOOP.search(lead.group(0)) is None else None
    if loop is None or not text[: lead.end()].lower().lstrip().startswith(("for", "<<")):
        return [(start, text[start:])]
    parts = [(start, text[start : loop.start()])]
    if _SQL_START.match(text, loop.end()):
        parts.append((loop.end(), text[loop.end() :]))
    return parts


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
    if isinstance(parent, exp.DataType):
        # a relation's row type (`RETURNS SETOF legacy`, `r legacy;`): a type of that name is the relation's,
        # as PostgreSQL gives every table and view one (a type of its own may not take a relation's name)
        return REFERENCE
    if isinstance(parent, exp.Schema):
        return "a column name"  # INSERT INTO t (a, b): the column list
    return f"a name that is not a table ({type(parent).__name__.lower()})"
