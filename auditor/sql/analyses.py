"""The table references of SQL texts and the roles of their words, remembered by text: a re-scan reuses
what an earlier scan found in the SQL of unchanged code, and loads the parser (sqlglot: refs.py,
roles.py) only for a text it has not seen. Worker processes send back what they asked for.

``TableRef.position`` names the role of a reference; refs.py's docstring lists them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableRef:
    start: int  # first char of the written reference, incl. schema qualifier and quotes
    end: int  # exclusive, after the relation name (incl. closing quote)
    name_start: int  # first char of the relation-name part
    schema: str | None  # folded schema as written; None when unqualified
    name: str  # folded relation name
    position: str  # see refs.py's docstring
    parsed: bool  # found in a sqlglot parse tree (False: tokenizer fallback)
    # a column qualifier bound to a FROM item that wrote a schema (`FROM billing.x ... x.id`)
    implied_schema: str | None = None
    # CREATE TABLE / DROP TABLE of the name: it treats the name as a table, which a view is not
    table_ddl: bool = False

    @property
    def certain(self) -> bool:
        """Found in a parse tree and names the relation itself (a lookup by name is a value, not a use)."""
        return self.parsed and self.position != "lookup"


@dataclass(frozen=True, slots=True)
class SqlRefs:
    refs: tuple[TableRef, ...]
    parsed: bool  # every statement was understood by the parser
    error: str | None


PlainRefs = tuple[tuple[tuple[object, ...], ...], bool, str | None]  # SqlRefs as plain values
PlainRoles = tuple[tuple[int, str], ...]  # word_roles() as plain values


@functools.lru_cache(maxsize=512)
def table_references(sql: str) -> SqlRefs:
    """Every table reference in ``sql`` (one or more statements), offsets relative to ``sql``."""
    _USED.add(sql)
    known = _REMEMBERED.get(sql)
    if known is not None:
        refs = tuple(TableRef(*values) for values in known[0])  # type: ignore[arg-type]
        return SqlRefs(refs, known[1], known[2])
    from auditor.sql.refs import analyze_sql  # the parser: loaded only for a text not seen before

    infos = analyze_sql(sql)
    refs = tuple(ref for info in infos for ref in info.refs)
    error = next((info.error for info in infos if info.error), None)
    found = SqlRefs(refs, all(info.parsed for info in infos) and bool(infos), error)
    _ANALYSED[sql] = (tuple(tuple(getattr(r, f) for f in r.__slots__) for r in refs), found.parsed, error)
    return found


# the analyses an earlier scan remembered (plain values, so that the cache holds no sqlglot-stage class),
# and those made in this process, for the next scan to remember; the same for the roles of words
_REMEMBERED: dict[str, PlainRefs] = {}
_ANALYSED: dict[str, PlainRefs] = {}
_USED: set[str] = set()
_REMEMBERED_ROLES: dict[str, PlainRoles] = {}
_FOUND_ROLES: dict[str, PlainRoles] = {}
_USED_ROLES: set[str] = set()

REFERENCE = "reference"  # a word's role: it names a relation
NAME_VALUE = (
    "a quoted SQL value that is exactly the name, outside the catalog lookups the analyzer knows "
    "(compared with another column, or given to another function): it may name the table"
)


@functools.lru_cache(maxsize=1024)
def word_roles(sql: str) -> dict[int, str]:
    """Offset of the first character of each identifier's name in ``sql`` -> its role (REFERENCE or the
    reason it names no relation); only whole statements the parser reads tell roles."""
    _USED_ROLES.add(sql)
    known = _REMEMBERED_ROLES.get(sql)
    if known is None:
        from auditor.sql.roles import parse_word_roles  # the parser: loaded only for a new text

        known = _FOUND_ROLES[sql] = tuple(parse_word_roles(sql).items())
    return dict(known)


RememberedSql = tuple[dict[str, PlainRefs], dict[str, PlainRoles]]


def remember_analyses(known: RememberedSql | None) -> None:
    """Analyses of SQL texts and roles of words that an earlier scan made: reused as they are, by text
    (an entry of another shape is never trusted: its text is analysed again)."""
    if not (isinstance(known, tuple) and len(known) == 2):
        return
    refs, roles = known
    if isinstance(refs, dict):
        _REMEMBERED.update((t, v) for t, v in refs.items() if isinstance(t, str) and _plain_refs(v))
    if isinstance(roles, dict):
        _REMEMBERED_ROLES.update((t, v) for t, v in roles.items() if isinstance(t, str) and _plain_roles(v))


_REF_FIELDS = len(TableRef.__slots__)


def _plain_refs(value: object) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], tuple)
        and all(isinstance(r, tuple) and len(r) == _REF_FIELDS for r in value[0])
        and isinstance(value[1], bool)
        and (value[2] is None or isinstance(value[2], str))
    )


def _plain_roles(value: object) -> bool:
    pairs = value if isinstance(value, tuple) else ((),)
    return all(_role_pair(r) for r in pairs)


def _role_pair(pair: object) -> bool:
    if not (isinstance(pair, tuple) and len(pair) == 2):
        return False
    return isinstance(pair[0], int) and isinstance(pair[1], str)


def adopt_analyses(known: RememberedSql) -> None:
    """What a worker process asked for on this scan's behalf: reused here, and kept for the next scan."""
    remember_analyses(known)
    _USED.update(known[0])
    _USED_ROLES.update(known[1])


def forget_analyses() -> None:
    """Drop every analysis this process made or was given, as if it had just started."""
    table_references.cache_clear()
    word_roles.cache_clear()
    for memo in (_REMEMBERED, _ANALYSED, _USED, _REMEMBERED_ROLES, _FOUND_ROLES, _USED_ROLES):
        memo.clear()


def start_share() -> None:
    """In a worker process forked from the scan: from now on, note only what this worker asks for."""
    _USED.clear()
    _USED_ROLES.clear()


def analyses_used() -> RememberedSql | None:
    """The analyses this process asked for (made or reused), for the next scan to reuse; the roles of
    words too, with those remembered for a text still analysed (a file not re-read this time asks for
    none); None when nothing was asked for (then what is remembered stays as it is)."""
    if not _USED and not _USED_ROLES:
        return None
    refs = {t: _REMEMBERED[t] for t in _USED if t in _REMEMBERED}
    refs.update((t, _ANALYSED[t]) for t in _USED if t in _ANALYSED)
    roles = {t: r for t, r in _REMEMBERED_ROLES.items() if t in refs}
    roles.update((t, _REMEMBERED_ROLES[t]) for t in _USED_ROLES if t in _REMEMBERED_ROLES)
    roles.update((t, _FOUND_ROLES[t]) for t in _USED_ROLES if t in _FOUND_ROLES)
    return refs, roles


def analyses_of(texts: Iterable[str]) -> RememberedSql:
    """The analyses of these texts (made now unless known), as plain values another process adopts."""
    refs: dict[str, PlainRefs] = {}
    for text in texts:
        table_references(text)
        known = _ANALYSED.get(text) or _REMEMBERED.get(text)
        if known is not None:
            refs[text] = known
    return refs, {}
