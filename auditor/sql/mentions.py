"""The role of a word in SQL text: why an occurrence of a legacy name there is, or is not, a reference."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from auditor.catalog.names import fold_identifier
from auditor.sql.analyses import NAME_VALUE, REFERENCE, table_references, word_roles
from auditor.sql.statements import STATEMENT_TEXT, copy_data_ranges, quoted_ranges
from auditor.sql.templates import masked, template_reason, template_spans

LegacyTest = Callable[[str | None, str], bool]  # (folded schema or None, folded name) -> is it legacy
_SCHEMA_BEFORE = re.compile(r'("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*\.\s*"?\Z')
_NAME_ONLY = re.compile(
    r"(?:[A-Za-z_][\w$]*\.)?[A-Za-z_][\w$]*"
)  # the word is in a table or qualifier position: it names the table


NOT_A_REFERENCE = "not-a-reference"
UNCLASSIFIED = "unclassified"
# a column qualifier beside SQL that prose never writes: a reference in SQL text, even where no analysed
# query is seen running it (reported as LR001 at medium confidence)
SQL_FRAGMENT = "sql-fragment"
# what prose never writes beside a `name.column` qualifier: SQL operators and sort or grouping clauses (the
# words prose shares with SQL, `and`, `in`, `is`, `null`, `from`, `where`, `like`, do not count)
SQL_BESIDE_QUALIFIER = re.compile(
    r"(?:=|<>|!=|<=|>=|\s[<>]\s|->>?|::|\|\||\b(?:asc|desc|nulls\s+(?:first|last)|ilike|coalesce|"
    r"(?:order|group|partition)\s+by)\b)",
    re.IGNORECASE,
)
# the words prose shares with SQL count when written as SQL is, in capitals: `t.id NOT IN (...)`,
# `t.deleted_at IS NULL`, `t.day BETWEEN %s AND %s`
SQL_CAPITALS_BESIDE_QUALIFIER = re.compile(r"\bIS(?:\s+NOT)?\s+NULL\b|\b(?:NOT\s+)?IN\s*\(|\bBETWEEN\b")
MIGRATION_HISTORY = "migration history: replayed by the migrations, never a blocker on its own"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an occurrence of a legacy name that no finding covers is."""

    verdict: str  # NOT_A_REFERENCE, UNCLASSIFIED or SQL_FRAGMENT
    reason: str


def classify_sql_file(
    text: str, occurrences: Iterable[tuple[int, int]], is_legacy: LegacyTest
) -> dict[int, Verdict]:
    """A verdict for each (start, end) occurrence in a .sql file, keyed by start offset (a template's
    tags: see sql/templates.py)."""
    out: dict[int, Verdict] = {}
    tags = template_spans(text)
    original, text = text, masked(text)
    for start, end in occurrences:
        in_tag = template_reason(original, tags, start, end) if tags else None
        if in_tag is not None:
            out[start] = Verdict(NOT_A_REFERENCE if in_tag[0] else UNCLASSIFIED, in_tag[1])
            continue
        reason = sql_word_reason(text, start)
        other = other_relation(text, start, end, is_legacy) if reason == REFERENCE else None
        if other is not None:
            out[start] = Verdict(NOT_A_REFERENCE, other)
        elif reason == REFERENCE:
            out[start] = Verdict(UNCLASSIFIED, "SQL names the table here, but no rule reported it")
        elif reason is None:
            out[start] = Verdict(UNCLASSIFIED, "in a statement the SQL parser could not read")
        elif reason == NAME_VALUE:
            out[start] = Verdict(UNCLASSIFIED, reason)
        else:
            out[start] = Verdict(NOT_A_REFERENCE, reason)
    return out


def other_relation(text: str, start: int, end: int, is_legacy: LegacyTest) -> str | None:
    """Why a name in a table position is not a use of the legacy view: the statement defines or drops
    it, or it is another relation (another schema, a quoted name in another case); None when it is."""
    refs = table_references(text).refs
    for ref in refs:
        if not ref.name_start <= start < ref.end:
            continue
        if ref.position in ("create", "drop") and not ref.table_ddl and not _in_routine_body(text, start):
            # (a DROP or CREATE a function's body runs is code of its own, run each time it is called)
            return "SQL that defines or drops the view itself (CREATE/DROP), not a use of the view"
        if ref.position in ("grant", "comment") and any(
            other.position in ("create", "drop")
            and not other.table_ddl
            and (other.schema, other.name) == (ref.schema, ref.name)
            for other in refs
        ):
            return "a grant or comment on the view in the file that defines or drops it (they go with it)"
    match = _SCHEMA_BEFORE.search(text, 0, start)
    schema = fold_identifier(match.group(1)) if match is not None else None
    quoted = text[start - 1 : start] == '"' and text[end : end + 1] == '"'
    name = text[start:end] if quoted else text[start:end].lower()
    if is_legacy(schema, name):
        return None
    written = f"{schema}.{name}" if schema else name
    return f"names `{written}`, another relation than the legacy view (schema or quoted case differ)"


def _in_routine_body(text: str, offset: int) -> bool:
    """Is ``offset`` inside a dollar-quoted body (`$$ ... $$`: a function's or a DO block's)?"""
    return any(kind == "body" and start <= offset < end for kind, start, end in quoted_ranges(text))


# a JSON operator right before a quoted value: `info->>'word'`, `data -> 'orders'`, `doc ? 'orders'`
_JSON_OPERATOR_BEFORE = re.compile(r"(?:->>?|#>>?|\?[|&]?)\s*\Z")


def sql_word_reason(sql: str, offset: int) -> str | None:
    """For the word starting at ``offset`` of ``sql``: REFERENCE, the reason it is not a reference
    (a comment, a quoted value, a column, an alias, a CTE...), or None when the text does not tell."""
    if any(start <= offset < end for start, end in copy_data_ranges(sql)):
        return "a data row of a COPY ... FROM stdin block (pg_dump's format), not SQL"
    for kind, start, end in quoted_ranges(sql):
        if start <= offset < end:
            if kind == "body":  # a dollar-quoted routine body: the same question inside it
                tag = sql.index("$", start + 1) + 1 - start
                return sql_word_reason(sql[start + tag : end - tag], offset - start - tag)
            if kind == "comment":
                return "a SQL comment"
            value = sql[start + 1 : end - 1].strip()
            if kind == "string" and _JSON_OPERATOR_BEFORE.search(sql, max(0, start - 8), start):
                return "a JSON key (after `->`, `->>`, `#>` or `?`), not a relation"
            if kind == "string" and sql[start] == "'" and STATEMENT_TEXT.match(sql, start + 1, end - 1):
                # a statement written as a string: run by `EXECUTE`, dblink or a test function
                # (pgTAP's `results_eq('SELECT ... FROM t', ...)`); a doubled quote is one quote inside
                inner = sql[start + 1 : end - 1].replace("''", "' ")
                return sql_word_reason(inner, offset - start - 1)
            # 'legacy' or 'public.legacy' as a whole value no lookup rule took: it may still name the table
            return NAME_VALUE if _NAME_ONLY.fullmatch(value) else "a quoted value inside SQL, not a name"
        if start > offset:
            break
    return word_roles(sql).get(offset)
