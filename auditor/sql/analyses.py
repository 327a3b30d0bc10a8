"""Table references of SQL texts, remembered by text: a re-scan reuses what an earlier scan found in
the SQL of unchanged code, and loads the parser (sqlglot, refs.py) only for a text it has not seen.

``TableRef.position`` names the role of a reference; refs.py's docstring lists them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TableRef:
    start: int  # first char of the written reference, incl. schema qualifier and quotes
    end: int  # exclusive, after the relation name (incl. closing quote)
    name_start: int  # first char of the relation-name part
    schema: str | None  # folded schema as written; None when unqualified
    name: str  # folded relation name
    position: str  # see the module docstring
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
# and those made in this process, for the next scan to remember
_REMEMBERED: dict[str, PlainRefs] = {}
_ANALYSED: dict[str, PlainRefs] = {}
_USED: set[str] = set()


def remember_analyses(known: dict[str, PlainRefs]) -> None:
    """Analyses of SQL texts that an earlier scan made: reused as they are, by text."""
    _REMEMBERED.update(known)


def analyses_used() -> dict[str, PlainRefs]:
    """The analyses this process asked for (made or reused), for the next scan to reuse."""
    out = {t: _REMEMBERED[t] for t in _USED if t in _REMEMBERED}
    out.update((t, _ANALYSED[t]) for t in _USED if t in _ANALYSED)
    return out
