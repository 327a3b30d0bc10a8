"""Catalog lookups whose name is a bind parameter: `WHERE table_name = %s`, `relname = ANY(:names)`,
`to_regclass($1)`. The value comes from the parameters the call passes beside the SQL; which parameter is
read here, from the text alone (no parser: the resolver asks for every statement that has parameters).

The catalog columns and lookup functions are defined here once; refs.py reads the same tables for the
lookups whose name is written in the SQL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# catalog columns (and trigger variables) that hold a relation's name ("name") or its schema's ("schema"):
# information_schema, pg_class/pg_namespace, pg_tables, pg_views, pg_matviews, pg_indexes, pg_stat_*_tables
CATALOG_COLUMNS = {
    "table_name": "name", "relname": "name", "tablename": "name", "viewname": "name", "matviewname": "name",
    "event_object_table": "name", "tg_table_name": "name", "tg_relname": "name",
    "table_schema": "schema", "schemaname": "schema", "nspname": "schema", "event_object_schema": "schema",
    "tg_table_schema": "schema",
}  # fmt: skip
# functions that take a relation name (regclass or text): the index of that argument
LOOKUP_FUNCTIONS = {
    "to_regclass": 0, "pg_total_relation_size": 0, "pg_relation_size": 0, "pg_table_size": 0,
    "pg_indexes_size": 0, "pg_relation_filepath": 0, "pg_relation_filenode": 0, "pg_get_serial_sequence": 0,
    "pg_get_viewdef": 0, "has_table_privilege": -2, "has_any_column_privilege": -2,
    "has_column_privilege": -3,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class BindLookup:
    """A bind parameter the statement looks a relation up by."""

    key: str  # its name (`:names`, `%(t)s`), or its 1-based place among the statement's parameters
    many: bool  # `IN %s`, `= ANY(%s)`: the parameter is a list, each element a name


# a bind parameter: psycopg's %s and %(name)s, SQLAlchemy's :name, asyncpg's $1, sqlite's ?
_PARAMETER = r"(?P<parameter>%s|%\((?P<named>\w+)\)s|(?<![:\w]):(?P<colon>[A-Za-z_]\w*)|\$(?P<number>\d+)|\?)"
_NAME_COLUMNS = "|".join(sorted((c for c, kind in CATALOG_COLUMNS.items() if kind == "name"), key=len)[::-1])
_COMPARED = re.compile(
    rf"(?i)(?<![\w$])(?:{_NAME_COLUMNS})(?![\w$])(?:\s*::\s*\w+)?\s*"
    rf"(?:(?P<op>=|<>|!=)\s*(?P<any>(?:ANY|SOME)\s*\(\s*)?|(?:NOT\s+)?(?P<in>IN)\s*\(?\s*){_PARAMETER}"
)
_ARGUMENT = re.compile(
    rf"(?i)(?<![\w$])(?:{'|'.join(n for n, i in LOOKUP_FUNCTIONS.items() if i == 0)})\s*\(\s*{_PARAMETER}"
)
_CAST = re.compile(rf"(?i){_PARAMETER}\s*::\s*regclass\b")
_ANONYMOUS = re.compile(r"%%|%s|\?")


@functools.lru_cache(maxsize=256)
def bind_lookups(sql: str) -> tuple[BindLookup, ...]:
    """The bind parameters ``sql`` compares with a catalog column that holds a relation's name, or gives
    to a function that takes one."""
    found: list[tuple[int, BindLookup]] = []
    for match in _COMPARED.finditer(sql):
        many = bool(match.group("any") or match.group("in"))
        found.append((match.start("parameter"), _lookup(sql, match, many)))
    for pattern in (_ARGUMENT, _CAST):
        for match in pattern.finditer(sql):
            found.append((match.start("parameter"), _lookup(sql, match, False)))
    return tuple(lookup for _, lookup in sorted(found, key=lambda f: f[0]))


def _lookup(sql: str, match: re.Match[str], many: bool) -> BindLookup:
    for group in ("named", "colon"):
        if match.group(group):
            return BindLookup(match.group(group), many)
    if match.group("number"):
        return BindLookup(f"${match.group('number')}", many)  # asyncpg: the call's arguments, one each
    # an anonymous parameter: its place among those before it (`%%` is an escaped percent sign)
    ordinal = sum(1 for m in _ANONYMOUS.finditer(sql, 0, match.start("parameter")) if m.group() != "%%") + 1
    return BindLookup(str(ordinal), many)
