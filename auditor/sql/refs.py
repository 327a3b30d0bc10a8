"""Find table references in SQL text: sqlglot parse trees of the statements that statements.py splits, and
a tokenizer fallback (the analyses are remembered by text in analyses.py).

Every reference carries exact character offsets into the analysed text. ``TableRef.position`` is one of:

- ``from``, ``join``: a relation read by a query (also LATERAL and subqueries, ``TABLE x``, COPY queries)
- ``insert``, ``update``, ``delete``, ``merge``, ``using`` (DELETE/MERGE USING), ``copy``, ``truncate``,
  ``lock``
- ``references``: a foreign key target; ``like``: ``CREATE TABLE t (LIKE x)``
- ``trigger-on``, ``policy-on``, ``rule-on``, ``index-on``: the relation a trigger/policy/rule/index is on
- ``grant`` (GRANT/REVOKE ... ON), ``comment`` (COMMENT ON), ``alter`` (ALTER TABLE/VIEW), ``refresh``
- ``create``: a name the statement defines (CREATE VIEW/TABLE x, ``RENAME TO x``, ``SELECT ... INTO x``)
- ``drop``: a name the statement drops (``table_ddl`` when it is CREATE TABLE / DROP TABLE / ALTER TABLE)
- ``qualifier``: a column qualifier (``legacy.id``, ``legacy.*``) bound to the table itself, not to an alias;
  in a statement the parser cannot read, a qualifier whose name the statement reads without an alias
- ``signature``: a relation's row type in a routine's argument or result types (``RETURNS SETOF x``)
- ``type``: a relation's row type (``x``, ``x%ROWTYPE``) or a column's type (``x.col%TYPE``) declared in a
  PL/pgSQL body
- ``lookup``: a catalog lookup by name, at the name inside its quotes: a string compared (=, <>, IN, ANY)
  with a catalog column (``table_name``, ``relname``, ``tablename``, ``viewname``...), cast to
  ``regclass``, or passed as the relation of ``to_regclass()``, ``has_table_privilege()``,
  ``pg_total_relation_size()``... After the rename it finds the view, after the drop nothing.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import Token, TokenType

from auditor.catalog.names import fold_identifier
from auditor.core.model import Diagnostic
from auditor.sql.analyses import TableRef
from auditor.sql.binds import CATALOG_COLUMNS as _CATALOG_COLUMNS
from auditor.sql.binds import LOOKUP_FUNCTIONS as _LOOKUP_FUNCTIONS
from auditor.sql.qualifiers import QualifierScopes
from auditor.sql.statements import (
    STATEMENT_TEXT,
    UNTERMINATED,
    blank_unterminated,
    is_terminated,
    split_statements,
)
from auditor.sql.templates import masked

QName = tuple[str | None, str]  # (folded schema or None when unqualified, folded name)

_DIALECT = Postgres()
_LOG = logging.getLogger("sqlglot")


@dataclass(frozen=True, slots=True)
class StatementInfo:
    """One statement: its references and, for DDL, what it defines, renames or drops."""

    start: int
    end: int
    kind: str  # "select", "insert", "create view", "alter table", "drop view"...; "" when unknown
    refs: tuple[TableRef, ...]
    parsed: bool
    error: str | None = None
    name: QName | None = None  # the object created / altered / (first) dropped
    names: tuple[QName, ...] = ()  # every object a DROP names
    on: QName | None = None  # the relation of a trigger / policy / rule / index
    replace: bool = False  # CREATE OR REPLACE
    rename_to: str | None = None  # ALTER ... RENAME TO (folded)
    new_schema: str | None = None  # ALTER ... SET SCHEMA (folded)
    language: str | None = None  # functions: "sql", "plpgsql", ...
    timing: str | None = None  # triggers: "before", "after", "instead of"
    row_level: bool = False  # triggers: FOR EACH ROW
    executes: QName | None = None  # triggers: the function they execute
    columns: tuple[str, ...] = ()  # CREATE VIEW v (a, b): the column list
    constraint: str | None = None  # ALTER TABLE ADD/DROP CONSTRAINT name
    query: exp.Expr | None = field(default=None, compare=False)  # a view's parsed definition


# ----------------------------------------------------------------------------------------------------------
# Public entry points


def analyze_sql(sql: str) -> list[StatementInfo]:
    """Analyse each statement of ``sql``: kind, DDL effect and references (offsets relative to ``sql``)."""
    with quiet_sqlglot():
        return [_Analyzer(sql).statement(stmt.start, stmt.end) for stmt in split_statements(sql)]


def analyze_file(path: str, text: str) -> tuple[list[StatementInfo], Diagnostic | None]:
    """The statements of one .sql file; a file the analysis fails on is a diagnostic, not the scan's end."""
    try:
        return analyze_sql(masked(text)), None  # a template's tags masked, offsets kept
    except Exception as exc:  # a bug or a limit (recursion, memory) on one hostile file
        return [], Diagnostic(path, None, "parse-error", f"could not analyse the file: {type(exc).__name__}")


def parse_statement(text: str) -> exp.Expr | None:
    """One statement's sqlglot tree, placeholders tolerated, offsets relative to ``text``; None when the
    parser does not understand it."""
    tokens = _tokenize(text)
    if not tokens:
        return None
    with quiet_sqlglot():
        tree, _ = _parse(tokens, text)
        if tree is None and _PLACEHOLDER.search(text):
            tree, _ = _Refs(text, 0)._parse_substituted(0, len(text))
    return None if tree is None or isinstance(tree, exp.Command) else tree


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning for each statement it falls back on; that is expected input here."""
    disabled = _LOG.disabled
    _LOG.disabled = True
    try:
        yield
    finally:
        _LOG.disabled = disabled


# ----------------------------------------------------------------------------------------------------------
# Tokens

_NAME_TYPES = frozenset({TokenType.VAR, TokenType.IDENTIFIER})
# Words that can never be an unquoted relation name (PostgreSQL reserved words and clause keywords).
_RESERVED = frozenset(
    [
        "ALL",
        "ANALYSE",
        "ANALYZE",
        "AND",
        "ANY",
        "ARRAY",
        "AS",
        "ASC",
        "ASYMMETRIC",
        "BOTH",
        "CASE",
        "CAST",
        "CHECK",
        "COLLATE",
        "COLUMN",
        "CONSTRAINT",
        "CREATE",
        "CROSS",
        "CURRENT_DATE",
        "CURRENT_ROLE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
        "CURRENT_USER",
        "DEFAULT",
        "DEFERRABLE",
        "DESC",
        "DISTINCT",
        "DO",
        "ELSE",
        "END",
        "EXCEPT",
        "EXISTS",
        "FALSE",
        "FETCH",
        "FOR",
        "FOREIGN",
        "FROM",
        "FULL",
        "GRANT",
        "GROUP",
        "HAVING",
        "IF",
        "ILIKE",
        "IN",
        "INITIALLY",
        "INNER",
        "INTERSECT",
        "INTO",
        "IS",
        "JOIN",
        "LATERAL",
        "LEADING",
        "LEFT",
        "LIKE",
        "LIMIT",
        "LOCALTIME",
        "LOCALTIMESTAMP",
        "NATURAL",
        "NOT",
        "NULL",
        "OFFSET",
        "ON",
        "ONLY",
        "OR",
        "ORDER",
        "OUTER",
        "OVERLAPS",
        "PLACING",
        "PRIMARY",
        "REFERENCES",
        "RETURNING",
        "RIGHT",
        "SELECT",
        "SESSION_USER",
        "SET",
        "SIMILAR",
        "SOME",
        "SYMMETRIC",
        "TABLE",
        "THEN",
        "TO",
        "TRAILING",
        "TRUE",
        "UNION",
        "UNIQUE",
        "UPDATE",
        "USER",
        "USING",
        "VALUES",
        "VARIADIC",
        "VERBOSE",
        "WHEN",
        "WHERE",
        "WINDOW",
        "WITH",
    ]
)
_COMMAND_TYPES = frozenset(_DIALECT.tokenizer_class.COMMANDS)
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|(?<![\w$])\$\d+|(?<![:\w]):[A-Za-z_]\w*|\?")


def _tokenize(text: str) -> list[Token] | None:
    try:
        tokens = _DIALECT.tokenize(text)
    except Exception:  # sqlglot raises TokenError, occasionally others, on malformed input
        try:
            tokens = _DIALECT.tokenize(blank_unterminated(text))
        except Exception:
            return None
    return _expand_command(text, tokens)


def _expand_command(text: str, tokens: list[Token]) -> list[Token]:
    """sqlglot swallows the rest of a LOCK/REFRESH/... statement into one string token: tokenize it."""
    for i, tok in enumerate(tokens[:-1]):
        rest = tokens[i + 1]
        if tok.token_type in _COMMAND_TYPES and rest.token_type == TokenType.STRING:
            lo, hi = tok.end + 1, rest.end + 1
            if rest.text.strip() != text[lo:hi].strip():
                continue  # a real quoted string
            try:
                inner = _DIALECT.tokenize(text[lo:hi])
            except Exception:
                return tokens
            for t in inner:
                t.start += lo
                t.end += lo
            return [*tokens[: i + 1], *inner, *tokens[i + 2 :]]
    return tokens


def _word(tok: Token | None) -> str:
    """The upper-cased word of an unquoted token ("" for punctuation, strings and quoted names)."""
    if tok is None or tok.token_type in (TokenType.IDENTIFIER, TokenType.STRING, TokenType.HEREDOC_STRING):
        return ""
    text = tok.text
    return text.upper() if text[:1].isalpha() or text[:1] == "_" else ""


def _is_name(tok: Token | None) -> bool:
    if tok is None:
        return False
    if tok.token_type in _NAME_TYPES:
        return True
    word = _word(tok)
    return bool(word) and word not in _RESERVED and re.fullmatch(r"[A-Z_][A-Z0-9_$]*", word) is not None


def _qname(text: str, parts: list[Token]) -> QName:
    names = [fold_identifier(text[p.start : p.end + 1]) for p in parts]
    return (names[-2] if len(names) >= 2 else None, names[-1])


# ----------------------------------------------------------------------------------------------------------
# Analysis of one statement


class _Analyzer:
    """Analyses statements of one text; offsets of all results are relative to that text."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def statement(self, start: int, end: int) -> StatementInfo:
        piece = self.sql[start:end]
        tokens = _tokenize(piece)
        if tokens is None:
            return StatementInfo(start, end, "", (), False, "the statement cannot be tokenized")
        kind, after_head = _head(tokens)
        out = _Refs(piece, start)
        query: exp.Expr | None = None
        error: str | None = None
        if kind in ("create function", "create procedure", "do"):
            self._routine(piece, start, tokens, kind, out)
        elif kind == "create materialized view":
            self._materialized_view(tokens, after_head, out)
        elif kind == "create policy":
            self._policy(tokens, out)
        elif kind == "create rule":
            self._rule(tokens, out)
        else:
            tree, error = out.statement(tokens, 0, len(tokens), plpgsql=False)
            if kind == "create view" and isinstance(tree, exp.Create):
                query = tree.args.get("expression")
        info = _ddl(piece, tokens, kind, after_head)
        if not is_terminated(piece):
            out.parsed, error = False, UNTERMINATED
        refs = sorted(out.refs, key=lambda r: r.start)
        if kind in _TABLE_DDL:
            refs = [
                replace(r, table_ddl=True) if r.position in ("create", "drop", "alter") else r for r in refs
            ]
        return StatementInfo(
            start=start,
            end=end,
            kind=kind,
            refs=tuple(refs),
            parsed=out.parsed,
            error=error if not out.parsed else None,
            query=query,
            **info,
        )

    def _routine(self, piece: str, base: int, tokens: list[Token], kind: str, out: _Refs) -> None:
        """CREATE FUNCTION / PROCEDURE / DO: the name is defined, the body is analysed by language."""
        language = _language(tokens) or ("plpgsql" if kind == "do" else None)
        body = _body_token(tokens, kind)
        if kind != "do":
            out.refs.extend(_signature_refs(piece, base, tokens, body))
        if body is not None:
            raw = piece[body.start : body.end + 1]
            if raw.startswith("$"):
                tag = raw[: raw.index("$", 1) + 1]
                inner_start, inner = body.start + len(tag), raw[len(tag) : -len(tag)]
            else:
                # '' inside a quoted body becomes ' + space: same length, so offsets stay exact
                inner_start, inner = body.start + 1, raw[1:-1].replace("''", " '")
            out.nested(inner, base + inner_start, plpgsql=language == "plpgsql")
            return
        atomic = _find_words(tokens, 0, len(tokens), ("BEGIN", "ATOMIC"))
        if atomic is not None and tokens[-1].text.upper() == "END":
            lo, hi = tokens[atomic + 1].end + 1, tokens[-1].start
            out.nested(piece[lo:hi], base + lo, plpgsql=False)

    def _materialized_view(self, tokens: list[Token], after_head: int, out: _Refs) -> None:
        out.name_at(tokens, after_head, "create", skip_if_exists=True)
        as_index = _find_top(tokens, after_head, len(tokens), "AS")
        if as_index is None:
            out.parsed = False
            return
        hi = len(tokens)
        data = _find_words(tokens, as_index, hi, ("WITH", "DATA")) or _find_words(
            tokens, as_index, hi, ("WITH", "NO")
        )
        out.statement(tokens, as_index + 1, data if data is not None else hi, plpgsql=False)

    def _policy(self, tokens: list[Token], out: _Refs) -> None:
        on = _find_top(tokens, 0, len(tokens), "ON")
        if on is not None:
            out.name_at(tokens, on + 1, "policy-on", skip_if_exists=False)
        for i, tok in enumerate(tokens):
            if (
                _word(tok) in ("USING", "CHECK")
                and i + 1 < len(tokens)
                and tokens[i + 1].token_type == TokenType.L_PAREN
            ):
                close = _matching_paren(tokens, i + 1)
                out.expression(tokens, i + 2, close, plpgsql=False)

    def _rule(self, tokens: list[Token], out: _Refs) -> None:
        to = _find_top(tokens, 0, len(tokens), "TO")
        if to is not None:
            out.name_at(tokens, to + 1, "rule-on", skip_if_exists=False)
        do = _find_top(tokens, 0, len(tokens), "DO")
        where = _find_top(tokens, 0, do if do is not None else len(tokens), "WHERE")
        if where is not None and do is not None:
            out.expression(tokens, where + 1, do, plpgsql=False)
        if do is None:
            return
        i = do + 1
        if _word(tokens[i] if i < len(tokens) else None) in ("ALSO", "INSTEAD"):
            i += 1
        if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
            close = _matching_paren(tokens, i)
            lo, hi = tokens[i].end + 1, tokens[close].start if close < len(tokens) else len(out.text)
            out.nested(out.text[lo:hi], out.base + lo, plpgsql=False)
        elif i < len(tokens) and _word(tokens[i]) != "NOTHING":
            out.statement(tokens, i, len(tokens), plpgsql=False)


class _Refs:
    """Collects references of one statement piece (``text`` starts at ``base`` in the whole text)."""

    def __init__(self, text: str, base: int) -> None:
        self.text = text
        self.base = base
        self.refs: list[TableRef] = []
        self.parsed = True

    # -- sub-analyses ------------------------------------------------------------------------------------

    def statement(
        self, tokens: list[Token], lo: int, hi: int, plpgsql: bool
    ) -> tuple[exp.Expr | None, str | None]:
        """Parse tokens[lo:hi] as one statement; fall back to the token scan when that fails."""
        if lo >= hi:
            return None, None
        if _word(tokens[lo]) in _MAINTENANCE:  # sqlglot reads these as commands, or a column list as a call
            self._maintenance(tokens, lo, hi)
            return None, None
        if _word(tokens[lo]) == "EXPLAIN":  # EXPLAIN [(options)] [ANALYZE] [VERBOSE] statement
            i = lo + 1
            if i < hi and tokens[i].token_type == TokenType.L_PAREN:
                i = _matching_paren(tokens, i, hi) + 1
            while i < hi and _word(tokens[i]) in ("ANALYZE", "ANALYSE", "VERBOSE"):
                i += 1
            return self.statement(tokens, i, hi, plpgsql)
        tree, error = _parse(tokens[lo:hi], self.text)
        if tree is None and _PLACEHOLDER.search(self.text, tokens[lo].start, tokens[hi - 1].end + 1):
            tree, _ = self._parse_substituted(tokens[lo].start, tokens[hi - 1].end + 1)
        if tree is not None and not isinstance(tree, exp.Command):
            found = _TreeRefs(self.text, self.base, plpgsql).collect(tree)
            if found is not None:
                self.refs.extend(found)
                return tree, None
            error = "the parser lost track of positions"
        self.parsed = False
        self.refs.extend(_scan_tokens(self.text, self.base, tokens, lo, hi))
        return None, error or "unsupported syntax"

    def _maintenance(self, tokens: list[Token], lo: int, hi: int) -> None:
        """`ANALYZE` / `VACUUM [(options)] [FULL ...] table [(columns)], ...`, `REINDEX TABLE name`,
        `CLUSTER [VERBOSE] table [USING index]`: each names tables (REINDEX of an index, a schema or the
        database names none; a bare VACUUM or ANALYZE, every table)."""
        kind = _word(tokens[lo])
        i = lo + 1
        if i < hi and tokens[i].token_type == TokenType.L_PAREN:  # (VERBOSE, SKIP_LOCKED, ...)
            i = _matching_paren(tokens, i, hi) + 1
        while i < hi and _word(tokens[i]) in _MAINTENANCE_OPTIONS:
            i += 1
        if kind == "REINDEX":
            if _word(_at(tokens, i, hi)) != "TABLE":
                return
            i += 1
            if _word(_at(tokens, i, hi)) == "CONCURRENTLY":
                i += 1
        while True:
            found = _read_name(tokens, i, hi)
            if found is None:
                return
            parts, i = found
            self.refs.append(replace(_token_ref(self.text, self.base, parts, "maintenance"), parsed=True))
            if i < hi and tokens[i].token_type == TokenType.L_PAREN:  # the columns to analyse
                i = _matching_paren(tokens, i, hi) + 1
            if kind not in ("ANALYZE", "VACUUM") or i >= hi or tokens[i].token_type != TokenType.COMMA:
                return
            i += 1

    def _parse_substituted(self, lo: int, hi: int) -> tuple[exp.Expr | None, str | None]:
        """Retry with placeholders replaced by same-length literals (offsets stay valid)."""
        segment = _PLACEHOLDER.sub(lambda m: "0" + " " * (len(m.group(0)) - 1), self.text[lo:hi])
        text = self.text[:lo] + segment + self.text[hi:]
        tokens = _tokenize(text)
        if tokens is None:
            return None, None
        inside = [t for t in tokens if lo <= t.start < hi]
        return _parse(inside, text)

    def expression(self, tokens: list[Token], lo: int, hi: int, plpgsql: bool) -> None:
        """Analyse tokens[lo:hi] as a scalar expression (a policy USING clause, an IF condition...)."""
        if lo >= hi:
            return
        synthetic = [Token(TokenType.SELECT, "SELECT"), *tokens[lo:hi]]
        tree, _ = _parse(synthetic, self.text)
        if tree is not None and not isinstance(tree, exp.Command):
            found = _TreeRefs(self.text, self.base, plpgsql).collect(tree)
            if found is not None:
                self.refs.extend(found)
                return
        self.parsed = False
        self.refs.extend(_scan_tokens(self.text, self.base, tokens, lo, hi))

    def nested(self, body: str, body_base: int, plpgsql: bool) -> None:
        """Analyse a routine body (SQL statements or PL/pgSQL) found inside this statement."""
        for stmt in split_statements(body):
            tokens = _tokenize(stmt.text)
            if tokens is None:
                self.parsed = False
                continue
            sub = _Refs(stmt.text, body_base + stmt.start)
            if plpgsql:
                _plpgsql_statement(sub, tokens)
            else:
                sub.statement(tokens, 0, len(tokens), plpgsql=False)
            self.refs.extend(sub.refs)
            self.parsed = self.parsed and sub.parsed

    def dynamic(self, segments: list[_Segment]) -> None:
        """Analyse SQL text assembled from ``segments``; keep the names that lie within one source segment."""
        starts: list[int] = []
        offset = 0
        for piece, _ in segments:
            starts.append(offset)
            offset += len(piece)
        inner = _Refs("", 0)
        inner.nested("".join(piece for piece, _ in segments), 0, plpgsql=False)

        def source(at: int) -> int | None:
            k = bisect.bisect_right(starts, at) - 1
            origin = segments[k][1]
            return None if origin is None else origin + at - starts[k]

        for ref in inner.refs:
            name_start, last = source(ref.name_start), source(ref.end - 1)
            if name_start is None or last is None or last - name_start != ref.end - 1 - ref.name_start:
                continue  # a placeholder, or a name split over a template and an argument
            start = source(ref.start)
            if start is None or name_start - start != ref.name_start - ref.start:
                start = name_start  # the schema is written elsewhere (`%I.%I`): point at the name only
            b = self.base
            self.refs.append(replace(ref, start=b + start, end=b + last + 1, name_start=b + name_start))

    def name_at(self, tokens: list[Token], i: int, position: str, skip_if_exists: bool) -> int:
        """Record the (qualified) name at token ``i`` with ``position``; return the index after it."""
        found = _read_name(tokens, i)
        if found is None:
            return i
        parts, after = found
        self.refs.append(_token_ref(self.text, self.base, parts, position))
        return after


def _parse(tokens: list[Token], text: str) -> tuple[exp.Expr | None, str | None]:
    try:
        trees = _DIALECT.parser().parse(tokens, text)
    except Exception as exc:  # ParseError on bad input; sqlglot has other failure modes on odd SQL
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        return None, "not a single statement"
    return trees[0], None


def _head(tokens: list[Token]) -> tuple[str, int]:
    """The statement kind ("create view", "drop table", "select") and the token index after the header."""
    words: list[str] = []
    for tok in tokens[:8]:
        word = _word(tok)
        if not word:
            break
        words.append(word)
    if not words:
        return ("select", 0) if tokens and tokens[0].token_type == TokenType.L_PAREN else ("", 0)
    first = words[0]
    if first in ("CREATE", "ALTER", "DROP"):
        i = 1
        while i < len(words) and words[i] in (
            "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "RECURSIVE", "UNIQUE",
            "CONSTRAINT", "TRUSTED", "PROCEDURAL", "FOREIGN",
        ):  # fmt: skip
            i += 1
        if i < len(words):
            obj = words[i]
            if obj == "MATERIALIZED" and i + 1 < len(words) and words[i + 1] == "VIEW":
                return f"{first.lower()} materialized view", i + 2
            if obj == "EVENT" and i + 1 < len(words) and words[i + 1] == "TRIGGER":
                return f"{first.lower()} event trigger", i + 2
            return f"{first.lower()} {obj.lower()}", i + 1
        return first.lower(), 1
    return first.lower(), 1


def _find_top(tokens: list[Token], lo: int, hi: int, word: str) -> int | None:
    """Index of the first ``word`` at parenthesis depth 0 in tokens[lo:hi]."""
    depth = 0
    for i in range(lo, min(hi, len(tokens))):
        tt = tokens[i].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and _word(tokens[i]) == word:
            return i
    return None


def _find_words(tokens: list[Token], lo: int, hi: int, words: tuple[str, ...]) -> int | None:
    """Index of the first top-level occurrence of the consecutive ``words``."""
    i = lo
    while True:
        i = _find_top(tokens, i, hi, words[0])  # type: ignore[assignment]
        if i is None:
            return None
        if all(_word(tokens[i + k] if i + k < len(tokens) else None) == w for k, w in enumerate(words)):
            return i
        i += 1


def _matching_paren(tokens: list[Token], i: int, hi: int | None = None) -> int:
    depth = 0
    for j in range(i, len(tokens) if hi is None else hi):
        tt = tokens[j].token_type
        if tt == TokenType.L_PAREN:
            depth += 1
        elif tt == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) if hi is None else hi


def _language(tokens: list[Token]) -> str | None:
    for i, tok in enumerate(tokens[:-1]):
        if _word(tok) == "LANGUAGE":
            nxt = tokens[i + 1]
            return nxt.text.lower() if nxt.token_type != TokenType.IDENTIFIER else nxt.text
    return None


_ARGUMENT_MODES = frozenset({"IN", "OUT", "INOUT", "VARIADIC"})
# PostgreSQL's built-in and pseudo types by the names code writes: never a relation's row type
_BUILTIN_TYPES = frozenset({
    "any", "anyarray", "anycompatible", "anyelement", "anyenum", "anynonarray", "anyrange", "bigint",
    "bigserial", "bit", "bool", "boolean", "box", "bpchar", "bytea", "char", "character", "cidr", "circle",
    "cstring", "cursor", "date", "daterange", "decimal", "double", "float", "float4", "float8", "inet",
    "int", "int2", "int4", "int4range", "int8", "int8range", "integer", "internal", "interval", "json",
    "jsonb", "line", "lseg", "macaddr", "money", "name", "numeric", "numrange", "oid", "path", "point",
    "polygon", "precision", "real", "record", "refcursor", "regclass", "regproc", "regtype", "serial",
    "smallint", "smallserial", "text", "time", "timestamp", "timestamptz", "tsquery", "tsrange",
    "tstzrange", "tsvector", "trigger", "uuid", "varbit", "varchar", "void", "xml",
})  # fmt: skip


def _signature_refs(text: str, base: int, tokens: list[Token], body: Token | None) -> list[TableRef]:
    """The relations whose row type a routine's signature uses (position ``signature``): argument types,
    ``RETURNS [SETOF] x`` and the column types of ``RETURNS TABLE (...)``."""
    hi = next((k for k, tok in enumerate(tokens) if tok is body), len(tokens))
    paren = next((k for k in range(hi) if tokens[k].token_type == TokenType.L_PAREN), None)
    if paren is None:
        return []
    close = _matching_paren(tokens, paren, hi)
    declared = _arguments(tokens, paren, hi)
    returns = _find_top(tokens, close + 1, hi, "RETURNS")
    refs: list[TableRef] = []
    if returns is not None:
        i = returns + 1
        table = _at(tokens, i + 1, hi)
        if (
            _word(_at(tokens, i, hi)) == "TABLE"
            and table is not None
            and table.token_type == TokenType.L_PAREN
        ):
            declared += _arguments(tokens, i + 1, hi)
        else:
            i += _word(_at(tokens, i, hi)) == "SETOF"
            ref = _type_ref(text, base, tokens, i, hi, "signature")
            refs.extend([ref] if ref is not None else [])
    for argument in declared:
        # [mode] [name] type [DEFAULT expr | = expr]
        end = next(
            (
                k
                for k, tok in enumerate(argument)
                if _word(tok) == "DEFAULT" or tok.token_type == TokenType.EQ
            ),
            len(argument),
        )
        i = 1 if argument and _word(argument[0]) in _ARGUMENT_MODES else 0
        read = _read_name(argument, i, end)
        if read is not None and len(read[0]) == 1 and read[1] < end and _is_name(argument[read[1]]):
            i = read[1]  # the argument's name, then its type
        ref = _type_ref(text, base, argument, i, end, "signature")
        refs.extend([ref] if ref is not None else [])
    return refs


def _type_ref(text: str, base: int, tokens: list[Token], i: int, hi: int, position: str) -> TableRef | None:
    """The relation a type written at tokens[i] comes from: a relation's name is its row type
    (`x`, `x%ROWTYPE`); `x.column%TYPE` is the type of a column of `x`. None for anything else."""
    read = _read_name(tokens, i, hi)
    if read is None:
        return None
    parts, j = read
    percent = _at(tokens, j, hi)
    if (
        percent is not None
        and percent.token_type == TokenType.MOD
        and _word(_at(tokens, j + 1, hi)) == "TYPE"
    ):
        parts = parts[:-1]  # a column's type: its relation
    if not parts:
        return None
    ref = _token_ref(text, base, parts, position)
    if ref.schema in (None, "pg_catalog") and ref.name in _BUILTIN_TYPES:
        return None
    return ref


def _body_token(tokens: list[Token], kind: str) -> Token | None:
    """The string holding a routine body: after AS (functions) or right after DO."""
    if kind == "do":
        for tok in tokens[1:3]:
            if tok.token_type in (TokenType.HEREDOC_STRING, TokenType.STRING):
                return tok
        return None
    as_index = _find_top(tokens, 0, len(tokens), "AS")
    if as_index is not None and as_index + 1 < len(tokens):
        tok = tokens[as_index + 1]
        if tok.token_type in (TokenType.HEREDOC_STRING, TokenType.STRING):
            return tok
    return None


# ----------------------------------------------------------------------------------------------------------
# Parse trees


_Visit = tuple[exp.Expr, "exp.Expr | None", str, frozenset[str]]  # node, parent, key in parent, CTE names


class _TreeRefs:
    """Table references of a sqlglot tree, honouring CTE scopes; None when a position is not trustworthy."""

    def __init__(self, text: str, base: int, plpgsql: bool) -> None:
        self.text = text
        self.base = base
        self.plpgsql = plpgsql
        self.refs: list[TableRef] = []
        self.ok = True
        self.scopes: QualifierScopes | None = None
        self.lookups: list[_Lookup] = []

    def collect(self, tree: exp.Expr) -> list[TableRef] | None:
        self.scopes = QualifierScopes(tree)
        # an explicit stack, not recursion: a 1,000-term `||` chain is a tree 1,000 deep
        stack: list[_Visit] = [(tree, None, "", frozenset())]
        while stack:
            stack.extend(reversed(self._visit(*stack.pop())))
        if self.lookups:
            self.refs.extend(_lookup_refs(self.text, self.base, self.lookups, parsed=True))
        return self.refs if self.ok else None

    def _visit(self, node: exp.Expr, parent: exp.Expr | None, key: str, ctes: frozenset[str]) -> list[_Visit]:
        """Record ``node`` if it names a relation; return its children to visit, in order."""
        if isinstance(node, exp.Table):
            self._table(node, parent, key, ctes)
        elif isinstance(node, exp.Schema) and isinstance(node.this, exp.Table):
            self._table(node.this, parent, key, ctes)
            return [(child, node, "expressions", ctes) for child in node.expressions]
        elif isinstance(node, exp.Comment) and isinstance(node.this, exp.Column):
            self._comment_column(node.this)
        elif isinstance(node, exp.Column) and not isinstance(parent, exp.Comment):
            self._qualifier(node)
        elif isinstance(node, exp.Literal) and node.is_string:
            self._lookup(node)
        children: list[_Visit] = []
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = self._ctes(with_, ctes, children)
        for arg_key, value in node.args.items():
            if arg_key == "with_" or (
                # a table's name parts are read by `_table`; a function in FROM (`jsonb_each(t.data) AS
                # x`) is visited: its arguments may qualify columns of the FROM items before it
                isinstance(node, exp.Table)
                and arg_key in ("this", "db", "catalog")
                and not isinstance(value, exp.Func)
            ):
                continue
            for child in value if isinstance(value, list) else (value,):
                if isinstance(child, exp.Expr):
                    children.append((child, node, arg_key, ctes))
        return children

    def _ctes(self, with_: exp.With, ctes: frozenset[str], children: list[_Visit]) -> frozenset[str]:
        """The CTE names the statement sees; each CTE body goes to ``children`` with the names it sees."""
        names = [_fold_ident(cte.args["alias"].this) for cte in with_.expressions if cte.args.get("alias")]
        every = ctes | frozenset(names)
        visible = ctes
        for cte, name in zip(with_.expressions, names, strict=False):
            children.append((cte.this, cte, "this", every if with_.args.get("recursive") else visible))
            visible = visible | {name}
        return every

    def _table(self, table: exp.Table, parent: exp.Expr | None, key: str, ctes: frozenset[str]) -> None:
        name = table.this
        if not isinstance(name, exp.Identifier):
            return
        position = _tree_position(table, parent, key)
        if position is None or (position == "create" and self.plpgsql and isinstance(parent, exp.Into)):
            return
        if not table.args.get("db") and _fold_ident(name) in ctes and position in ("from", "join"):
            return
        parts = [
            p
            for p in (table.args.get("catalog"), table.args.get("db"), name)
            if isinstance(p, exp.Identifier)
        ]
        self._add(parts, position)

    def _qualifier(self, column: exp.Column) -> None:
        qualifier = column.args.get("table")
        name = column.this
        # SQLite reads a double-quoted word that names no column as a string: `tbl_name="orders"` in a query
        # of sqlite_master is a lookup by name
        if (
            qualifier is None
            and isinstance(name, exp.Identifier)
            and name.args.get("quoted")
            and "start" in name.meta
            and _tree_lookup(column) == "name"
            and _of_sqlite_schema(column)
        ):
            self.lookups.append((name.meta["start"], name.meta["end"], "name"))
            return
        if qualifier is None and isinstance(name, exp.Identifier) and self.scopes is not None:
            # a table's own name as a value is its whole row (`RETURNING legacy`, `to_jsonb(legacy)`), where
            # a row is what the place takes (elsewhere, tables often have a column of their own name)
            whole = self.scopes.whole_row(column, _fold_ident(name)) if _takes_a_row(column) else None
            if whole is not None:
                self._add([name], "qualifier", whole.schema)
            return
        if not isinstance(qualifier, exp.Identifier) or self.scopes is None:
            return
        db = column.args.get("db")
        binding = self.scopes.bind(column, _fold_ident(qualifier))
        if not binding.names_table and not isinstance(db, exp.Identifier):
            return
        parts = [p for p in (column.args.get("catalog"), db, qualifier) if isinstance(p, exp.Identifier)]
        self._add(parts, "qualifier", None if isinstance(db, exp.Identifier) else binding.schema)

    def _lookup(self, literal: exp.Literal) -> None:
        kind = _tree_lookup(literal)
        meta = literal.meta
        if kind is not None and "start" in meta and "end" in meta:
            self.lookups.append((meta["start"], meta["end"], kind))

    def _comment_column(self, column: exp.Column) -> None:
        parts = [
            p for p in (column.args.get("db"), column.args.get("table")) if isinstance(p, exp.Identifier)
        ]
        if parts:
            self._add(parts, "comment")

    def _add(self, parts: list[exp.Identifier], position: str, implied_schema: str | None = None) -> None:
        metas = [p.meta for p in parts]
        if not all("start" in m and "end" in m for m in metas):
            self.ok = False
            return
        start, name_start, end = metas[0]["start"], metas[-1]["start"], metas[-1]["end"] + 1
        folded = [fold_identifier(self.text[m["start"] : m["end"] + 1]) for m in metas]
        if folded[-1] != _fold_ident(parts[-1]):
            self.ok = False  # positions do not point at the name: do not trust this tree
            return
        schema = folded[-2] if len(folded) >= 2 else None
        b = self.base
        self.refs.append(
            TableRef(b + start, b + end, b + name_start, schema, folded[-1], position, True, implied_schema)
        )


# functions whose one argument is commonly a whole row
_ROW_FUNCTIONS = frozenset(
    {"to_json", "to_jsonb", "row_to_json", "jsonb_agg", "hstore", "json_populate_record"}
)


def _takes_a_row(column: exp.Column) -> bool:
    """``column`` is what a RETURNING clause returns by itself, or the one argument of a function that
    serialises or aggregates rows."""
    parent = column.parent
    if isinstance(parent, exp.Alias):
        parent = parent.parent
    if isinstance(parent, exp.Returning):
        return len(parent.expressions) == 1
    if isinstance(parent, (exp.ArrayAgg, exp.JSONArrayAgg)):
        return parent.this is column
    return (
        isinstance(parent, exp.Anonymous)
        and parent.name.lower() in _ROW_FUNCTIONS
        and len(parent.expressions) == 1
    )


def _fold_ident(ident: exp.Expr) -> str:
    text = ident.this if isinstance(ident.this, str) else ident.name
    return text if ident.args.get("quoted") else text.lower()


_CREATED_KINDS = frozenset({"TABLE", "VIEW", "MATERIALIZED VIEW"})


def _tree_position(table: exp.Table, parent: exp.Expr | None, key: str) -> str | None:
    """What a Table node in ``parent.args[key]`` is: a position name, or None when not a relation."""
    if isinstance(parent, exp.From):
        return "from"
    if isinstance(parent, exp.Join):
        return "join"
    if isinstance(parent, (exp.Lateral, exp.Subquery)):
        return "from"
    simple = {
        exp.Insert: "insert", exp.Update: "update", exp.Copy: "copy", exp.TruncateTable: "truncate",
        exp.Reference: "references", exp.Grant: "grant", exp.Revoke: "grant", exp.Comment: "comment",
        exp.TriggerProperties: "trigger-on", exp.Index: "index-on", exp.LikeProperty: "like",
        exp.AlterRename: "create", exp.Into: "create",
    }  # fmt: skip
    for cls, position in simple.items():
        if isinstance(parent, cls):
            return position
    if isinstance(parent, exp.Delete):
        return "delete" if key == "this" else "using"
    if isinstance(parent, exp.Merge):
        return "merge" if key == "this" else "using"
    if isinstance(parent, exp.Create):
        kind = str(parent.args.get("kind") or "").upper()
        return "create" if key == "this" and kind in _CREATED_KINDS else None
    if isinstance(parent, exp.Drop):
        kind = str(parent.args.get("kind") or "").upper()
        return "drop" if kind in _CREATED_KINDS else None
    if isinstance(parent, exp.Alter):
        return "alter"
    if isinstance(parent, (exp.UserDefinedFunction, exp.Func, exp.Dot, exp.Column)):
        return None
    return "from"


# ----------------------------------------------------------------------------------------------------------
# Catalog lookups by name

_Lookup = tuple[
    int, int, str
]  # the quoted value's first and last offsets, and what it names (see _tree_lookup)
_IDENTIFIER = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_RELATION_VALUE = re.compile(rf"(?:({_IDENTIFIER})\.)?({_IDENTIFIER})")
_PLAIN_NAME = re.compile(r"[A-Za-z_][\w$]*")
_LIST_WRAPPERS = (exp.Array, exp.Paren, exp.Tuple, exp.Any)


def _lookup_refs(text: str, base: int, lookups: list[_Lookup], parsed: bool) -> list[TableRef]:
    """The relations the quoted values of one statement look up. A name compared with a catalog column is
    in the one schema the statement compares with a schema column (`table_schema = 'billing'`), if any."""
    schemas = {text[s + 1 : e] for s, e, kind in lookups if kind == "schema"}
    schema = schemas.pop() if len(schemas) == 1 else None
    if schema is not None and _PLAIN_NAME.fullmatch(schema) is None:
        schema = None
    refs = []
    for start, end, kind in lookups:
        ref = _lookup_ref(text, base, start, end, kind == "name", parsed) if kind != "schema" else None
        if ref is not None:
            refs.append(replace(ref, implied_schema=schema) if kind == "name" and schema else ref)
    return refs


def _lookup_ref(text: str, base: int, start: int, end: int, compared: bool, parsed: bool) -> TableRef | None:
    """The relation a quoted value ``text[start..end]`` (quotes included; double quotes only where SQLite
    reads them as a string) names: compared with a catalog column it is the exact name; as a regclass it
    is an identifier, optionally schema-qualified."""
    quote = text[start : start + 1]
    if quote not in ("'", '"') or text[end : end + 1] != quote:
        return None  # E'...', a dollar string, or positions that do not point at the value
    at = start + 1
    value = text[at:end].rstrip(" ")  # a '' pair inside a quoted body reads as ` '` (see _string_body)
    if compared:
        if _PLAIN_NAME.fullmatch(value) is None:
            return None  # `relname = 'public.x'` never matches: no schema in a name column
        return TableRef(base + at, base + at + len(value), base + at, None, value, "lookup", parsed)
    match = _RELATION_VALUE.fullmatch(value)
    if match is None:
        return None
    schema = fold_identifier(match.group(1)) if match.group(1) else None
    name_start = base + at + match.start(2)
    return TableRef(base + at, base + at + match.end(2), name_start, schema, fold_identifier(match.group(2)),
                    "lookup", parsed)  # fmt: skip


def _tree_lookup(literal: exp.Literal) -> str | None:
    """What a string literal names: "name" or "schema" compared with such a catalog column, "relation" given
    to a regclass cast or a relation function; None when it is no lookup."""
    node, parent = literal, literal.parent
    while isinstance(parent, _LIST_WRAPPERS):  # IN ('a', 'b'), = ANY(ARRAY['a', 'b'])
        node, parent = parent, parent.parent
    if isinstance(parent, (exp.EQ, exp.NEQ)) or (
        # `relname OPERATOR(pg_catalog.=) 'x'`, as extension code and pg_dump write it
        isinstance(parent, exp.Operator)
        and str(parent.args.get("operator", "")).rsplit(".", 1)[-1] in ("=", "<>", "!=")
    ):
        other = parent.expression if node is parent.this else parent.this
        return _catalog_column(other)
    if isinstance(parent, exp.In):
        return _catalog_column(parent.this) if node is not parent.this else None
    if node is not literal:
        return None
    if isinstance(parent, exp.Cast):
        to = parent.args.get("to")
        return "relation" if _is_regclass(to) else None
    if isinstance(parent, exp.Anonymous):
        index = _LOOKUP_FUNCTIONS.get(parent.name.lower())
        args = parent.expressions
        if index is not None and -len(args) <= index < len(args) and args[index] is literal:
            return "relation"
    return None


def _is_regclass(to: exp.Expr | None) -> bool:
    """`regclass` or `pg_catalog.regclass` as a cast's type."""
    if isinstance(to, exp.ObjectIdentifier):
        return to.name.upper() == "REGCLASS"
    kind = to.args.get("kind") if isinstance(to, exp.DataType) else None
    return (
        isinstance(kind, exp.Dot)
        and kind.name.upper() == "REGCLASS"
        and isinstance(kind.this, exp.Identifier)
        and kind.this.name.lower() == "pg_catalog"
    )


def _catalog_column(node: exp.Expr | None) -> str | None:
    while isinstance(node, exp.Cast):  # relname::text = 'x'
        node = node.this
    if not isinstance(node, exp.Column):
        return None
    name = node.name.lower()
    found = _CATALOG_COLUMNS.get(name)
    if found is None and name in ("name", "tbl_name") and _of_sqlite_schema(node):
        return "name"  # SQLite: `SELECT ... FROM sqlite_master WHERE type = 'table' AND name = 'x'`
    return found


_SQLITE_SCHEMA = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"})


def _of_sqlite_schema(column: exp.Column) -> bool:
    """A column of SQLite's schema table (`name` is too common a column to be read as a table's name in
    any other FROM): qualified by it or by its alias, or unqualified in a query whose only FROM item it is."""
    select = column.find_ancestor(exp.Select)
    if select is None or select.args.get("joins"):
        return False
    source = select.args.get("from_") or select.args.get("from")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or table.name.lower() not in _SQLITE_SCHEMA:
        return False
    qualifier = column.table.lower()
    return not qualifier or qualifier in (table.name.lower(), table.alias_or_name.lower())


_COMPARISONS = frozenset({TokenType.EQ, TokenType.NEQ})


def _scan_lookups(text: str, base: int, tokens: list[Token], lo: int, hi: int) -> list[TableRef]:
    """Catalog lookups by name in tokens[lo:hi] (the fallback for SQL sqlglot cannot parse)."""
    found: list[tuple[Token, str]] = []
    for i in range(lo, hi):
        tok = tokens[i]
        tt = tok.token_type
        if tt == TokenType.STRING:
            nxt = _at(tokens, i + 1, hi)
            after = _at(tokens, i + 2, hi)
            if nxt is None or after is None:
                continue
            if nxt.token_type == TokenType.DCOLON or (
                _word(nxt) == "AS" and _word(_at(tokens, i - 2, hi) if i - 2 >= lo else None) == "CAST"
            ):
                dot = _at(tokens, i + 3, hi)
                if after.text.upper() == "PG_CATALOG" and dot is not None and dot.token_type == TokenType.DOT:
                    after = _at(tokens, i + 4, hi) or after  # `::pg_catalog.regclass`
                if after.text.upper() == "REGCLASS":
                    found.append((tok, "relation"))
            elif nxt.token_type in _COMPARISONS and (kind := _catalog_token(tokens, i + 2, hi)):
                found.append((tok, kind))
        elif tt == TokenType.L_PAREN and i > lo and tokens[i - 1].text.lower() in _LOOKUP_FUNCTIONS:
            args = _arguments(tokens, i, hi)
            index = _LOOKUP_FUNCTIONS[tokens[i - 1].text.lower()]
            if -len(args) <= index < len(args) and len(args[index]) == 1:
                arg = args[index][0]
                if arg.token_type == TokenType.STRING:
                    found.append((arg, "relation"))
        elif tok.text.lower() in _CATALOG_COLUMNS and (kind := _catalog_token(tokens, i, hi)):
            j = i + 1
            if (sep := _at(tokens, j, hi)) is not None and sep.token_type == TokenType.DCOLON:
                j += 2  # relname::text = 'x'
            if _word(_at(tokens, j, hi)) == "NOT":
                j += 1
            op = _at(tokens, j, hi)
            if op is None:
                continue
            if op.token_type in _COMPARISONS:
                value = _at(tokens, j + 1, hi)
                if value is not None and value.token_type == TokenType.STRING:
                    if _at(tokens, j + 2, hi) is None or tokens[j + 2].token_type != TokenType.DPIPE:
                        found.append((value, kind))
                elif _word(value) in ("ANY", "SOME") and _at(tokens, j + 2, hi) is not None:
                    found.extend(_strings_in(tokens, j + 2, hi, kind))
            elif _word(op) == "IN":
                found.extend(_strings_in(tokens, j + 1, hi, kind))
    return _lookup_refs(text, base, [(t.start, t.end, kind) for t, kind in found], parsed=False)


def _catalog_token(tokens: list[Token], i: int, hi: int) -> str | None:
    """What the catalog column at tokens[i] holds (`relname`, `c.relname`, `information_schema.tables.
    table_name`): "name", "schema", or None when it is no such column."""
    while i + 2 < hi and tokens[i + 1].token_type == TokenType.DOT:
        i += 2
    tok = _at(tokens, i, hi)
    kind = _CATALOG_COLUMNS.get(tok.text.lower()) if tok is not None and _is_name(tok) else None
    nxt = _at(tokens, i + 1, hi)
    if nxt is not None and nxt.token_type in (TokenType.DOT, TokenType.L_PAREN, TokenType.DPIPE):
        return None
    return kind


def _strings_in(tokens: list[Token], i: int, hi: int, kind: str) -> list[tuple[Token, str]]:
    """The string tokens inside the parenthesis at ``i`` (an IN list, ANY(ARRAY[...]))."""
    if tokens[i].token_type != TokenType.L_PAREN:
        return []
    close = _matching_paren(tokens, i, hi)
    return [(t, kind) for t in tokens[i + 1 : close] if t.token_type == TokenType.STRING]


def _arguments(tokens: list[Token], i: int, hi: int) -> list[list[Token]]:
    """The top-level arguments of the call whose parenthesis is at ``i``."""
    close = _matching_paren(tokens, i, hi)
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens[i + 1 : close]:
        if tok.token_type == TokenType.COMMA and depth == 0:
            args.append([])
            continue
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tok.token_type, 0)
        args[-1].append(tok)
    return args if close > i + 1 else []


# ----------------------------------------------------------------------------------------------------------
# Tokenizer fallback


def _read_name(tokens: list[Token], i: int, hi: int | None = None) -> tuple[list[Token], int] | None:
    """A possibly qualified name at token ``i`` (after ONLY / IF [NOT] EXISTS), and the index after it."""
    n = len(tokens) if hi is None else hi
    while i < n and _word(tokens[i]) in ("ONLY", "IF", "NOT", "EXISTS"):
        i += 1
    if i >= n:
        return None
    inner = _other_quotes(tokens, i, n)
    if inner is None and not _is_name(tokens[i]):
        return None
    parts = [tokens[i] if inner is None else tokens[inner]]
    i += 1 if inner is None else 3
    while i + 1 < n and tokens[i].token_type == TokenType.DOT:
        inner = _other_quotes(tokens, i + 1, n)
        if inner is not None:
            parts.append(tokens[inner])
            i += 4
        elif tokens[i + 1].token_type in _NAME_TYPES or _word(tokens[i + 1]):
            parts.append(tokens[i + 1])
            i += 2
        else:
            break
    if i < n and tokens[i].token_type == TokenType.STAR:
        i += 1
    return parts, i


def _other_quotes(tokens: list[Token], i: int, n: int) -> int | None:
    """The index of a name quoted as other dialects quote identifiers, `` `name` `` (MySQL) or `[name]`
    (SQL Server), when token ``i`` opens one; PostgreSQL has neither, so they are names wherever a table
    goes (the statements a multi-database application runs beside PostgreSQL's)."""
    if i + 2 >= n:
        return None
    opener, name, closer = tokens[i], tokens[i + 1], tokens[i + 2]
    if opener.token_type == TokenType.L_BRACKET:
        expected = TokenType.R_BRACKET
    elif opener.token_type == TokenType.UNKNOWN and opener.text == "`":
        expected = TokenType.UNKNOWN
    else:
        return None
    if closer.token_type != expected or (expected == TokenType.UNKNOWN and closer.text != "`"):
        return None
    if closer.start != name.end + 1 or name.start != opener.end + 1 or not re.fullmatch(r"\w+", name.text):
        return None
    return i + 1


def _token_ref(text: str, base: int, parts: list[Token], position: str) -> TableRef:
    schema, name = _qname(text, parts[-3:] if len(parts) > 3 else parts)
    return TableRef(
        base + parts[0].start, base + parts[-1].end + 1, base + parts[-1].start, schema, name, position, False
    )


_MAINTENANCE = frozenset({"ANALYZE", "ANALYSE", "VACUUM", "REINDEX", "CLUSTER"})
_MAINTENANCE_OPTIONS = frozenset(
    {"FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE", "SKIP_LOCKED", "ONLY", "CONCURRENTLY"}
)
_STATEMENT_STARTERS = frozenset(
    {"(", ")", ";", "THEN", "ELSE", "LOOP", "BEGIN", "AS", "DO", "INSTEAD", "ALSO"}
)
# words between INSERT and INTO in other dialects (`INSERT OR REPLACE`, `INSERT IGNORE`, `INSERT DELAYED`)
_INSERT_MODIFIERS = frozenset(
    {"IGNORE", "REPLACE", "ABORT", "FAIL", "ROLLBACK", "LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY"}
)
_LIST_POSITIONS = frozenset({"from", "truncate", "lock", "drop", "grant", "using"})


def _scan_tokens(text: str, base: int, tokens: list[Token], lo: int, hi: int) -> list[TableRef]:
    """Names right after table keywords in tokens[lo:hi] (the fallback for SQL sqlglot cannot parse)."""
    refs: list[TableRef] = []
    kind, _ = _head(tokens[lo:hi])
    ctes = _token_ctes(text, tokens, lo, hi)
    # per parenthesis level: the statement keywords seen at that level
    levels: list[set[str]] = [set()]
    on_taken = False
    i = lo
    while i < hi:
        tok = tokens[i]
        tt = tok.token_type
        if tt == TokenType.L_PAREN:
            levels.append(set())
            i += 1
            continue
        if tt == TokenType.R_PAREN:
            if len(levels) > 1:
                levels.pop()
            i += 1
            continue
        word = _word(tok)
        prev = _word(tokens[i - 1]) if i > lo else ""
        prev_text = prev or (tokens[i - 1].text if i > lo else ";")
        seen = levels[-1]
        if word in ("SELECT", "DELETE", "MERGE", "INSERT", "VALUES"):
            seen.add(word)
        position: str | None = None
        top = len(levels) == 1
        if word == "FROM":
            if prev == "DELETE":
                position = "delete"
            elif (
                prev != "DISTINCT"
                and (seen & {"SELECT", "UPDATE"})
                and not (top and kind in ("revoke", "copy"))
            ):
                position = "from"
        elif word == "JOIN":
            position = "join"
        elif word == "INTO" and (
            prev in ("INSERT", "MERGE")
            or ("INSERT" in seen and prev in _INSERT_MODIFIERS)
            or (prev == "REPLACE" and i == lo + 1)
        ):
            # `INSERT OR REPLACE INTO t` (SQLite), `INSERT IGNORE INTO t`, `REPLACE INTO t` (MySQL): the
            # statements of another dialect a multi-database application runs beside PostgreSQL's
            position = "merge" if prev == "MERGE" else "insert"
        elif (
            word == "UPDATE"
            and prev_text.upper() in _STATEMENT_STARTERS | {";"}
            and (_is_name(_at(tokens, i + 1, hi)) or _other_quotes(tokens, i + 1, hi) is not None)
        ):
            seen.add("UPDATE")
            position = "update"
        elif word == "USING" and seen & {"DELETE", "MERGE"}:
            position = "using"
        elif word == "REFERENCES":
            position = "references"
        elif word in ("TRUNCATE", "LOCK") and top and i == lo:
            position = word.lower()
            if _word(_at(tokens, i + 1, hi)) == "TABLE":
                i += 1
        elif word == "COPY" and top and i == lo:
            position = "copy"
        elif word == "TABLE" and top and prev in ("", "ON") and i == lo:
            position = "from"
        elif word in ("TABLE", "VIEW") and top and i <= lo + 8:
            position = _OBJECT_KEYWORD_POSITIONS.get(kind.split(" ")[0])
        elif word == "ON" and top and not on_taken and kind in _ON_KINDS:
            on_taken = True
            nxt = _word(_at(tokens, i + 1, hi))
            if nxt in ("TABLE", "VIEW", "COLUMN", "MATERIALIZED"):
                i += 2 if nxt == "MATERIALIZED" else 1
                if nxt == "COLUMN":
                    found = _read_name(tokens, i + 1, hi)
                    if found is not None and len(found[0]) >= 2:
                        refs.append(_token_ref(text, base, found[0][:-1], "comment"))
                    i += 1
                    continue
            elif nxt in ("FUNCTION", "SCHEMA", "SEQUENCE", "ALL", "DATABASE", "TYPE", "PROCEDURE", "ROUTINE"):
                i += 1
                continue
            position = _ON_KINDS[kind]
        elif (
            word == "TO"
            and top
            and kind == "create rule"
            and prev in ("INSERT", "UPDATE", "DELETE", "SELECT")
        ):
            position = "rule-on"
        elif word == "RENAME" and top and _word(_at(tokens, i + 1, hi)) == "TO":
            i += 1
            position = "create"
        if position is None:
            i += 1
            continue
        i = _scan_names(text, base, tokens, i + 1, hi, position, ctes, refs)
    refs.extend(_scan_qualifiers(text, base, tokens, lo, hi, ctes, refs))
    refs.extend(_scan_lookups(text, base, tokens, lo, hi))
    return refs


_READS = frozenset({"from", "join", "update", "insert", "delete", "merge", "using"})


def _scan_qualifiers(
    text: str, base: int, tokens: list[Token], lo: int, hi: int, ctes: frozenset[str], refs: list[TableRef]
) -> list[TableRef]:
    """Column qualifiers (`name.col`, `name.*`) in tokens[lo:hi] whose name the statement reads without an
    alias, when no alias or CTE of the statement has that name (the fallback has no scopes to bind by)."""
    ends = {ref.end for ref in refs if ref.position in _READS}
    if not ends:
        return []
    aliased: set[int] = set()
    aliases = set(ctes)
    for k in range(lo + 1, hi):
        if not _is_name(tokens[k]):
            continue
        at = k - 1
        if _word(tokens[at]) == "AS":
            aliases.add(_fold_token(text, tokens[k]))
            at -= 1
        elif tokens[at].token_type == TokenType.R_PAREN:
            aliases.add(_fold_token(text, tokens[k]))  # a subquery's alias
            continue
        if at >= lo and base + tokens[at].end + 1 in ends:
            aliases.add(_fold_token(text, tokens[k]))
            aliased.add(base + tokens[at].end + 1)
    read: dict[str, str | None] = {}
    for ref in refs:
        if ref.position in _READS and ref.end not in aliased and ref.name not in aliases:
            read.setdefault(ref.name, ref.schema)
    if not read:
        return []
    taken = {ref.start for ref in refs}  # `FROM legacy.items`: the schema part of a relation already found
    out: list[TableRef] = []
    for k in range(lo, hi - 2):
        tok = tokens[k]
        if tokens[k + 1].token_type != TokenType.DOT or not _is_name(tok):
            continue
        column = tokens[k + 2]
        if column.token_type != TokenType.STAR and not (column.token_type in _NAME_TYPES or _word(column)):
            continue
        after = _at(tokens, k + 3, hi)
        if after is not None and after.token_type in (TokenType.DOT, TokenType.L_PAREN):
            continue  # `name` is a schema: `schema.table.col`, `schema.function(...)`
        if k > lo and tokens[k - 1].token_type == TokenType.DOT:
            continue
        name = _fold_token(text, tok)
        start = base + tok.start
        if name not in read or start in taken:
            continue
        out.append(TableRef(start, base + tok.end + 1, start, None, name, "qualifier", False, read[name]))
    return out


def _fold_token(text: str, tok: Token) -> str:
    return fold_identifier(text[tok.start : tok.end + 1])


_TABLE_DDL = frozenset({"create table", "drop table", "alter table"})
_OBJECT_KEYWORD_POSITIONS = {
    "create": "create", "alter": "alter", "drop": "drop", "comment": "comment", "grant": "grant",
    "revoke": "grant", "refresh": "refresh",
}  # fmt: skip
_ON_KINDS = {
    "create trigger": "trigger-on", "create policy": "policy-on", "create index": "index-on",
    "grant": "grant", "revoke": "grant", "comment": "comment", "drop trigger": "drop", "drop policy": "drop",
    "alter trigger": "alter", "alter policy": "alter",
}  # fmt: skip


def _at(tokens: list[Token], i: int, hi: int) -> Token | None:
    return tokens[i] if i < hi else None


def _scan_names(
    text: str,
    base: int,
    tokens: list[Token],
    i: int,
    hi: int,
    position: str,
    ctes: frozenset[str],
    refs: list[TableRef],
) -> int:
    """Read the name(s) after a table keyword at token ``i``; return the index to continue from."""
    while True:
        if _word(_at(tokens, i, hi)) == "LATERAL":
            return i + 1
        if position in ("from", "join"):  # a parenthesised join tree: `JOIN (a INNER JOIN (b ...) ON ...)`
            i = _join_tree_start(tokens, i, hi)
        found = _read_name(tokens, i, hi)
        if found is None:
            return i
        parts, after = found
        if (
            position in ("from", "join")
            and after < hi
            and tokens[after].token_type in (TokenType.L_PAREN, TokenType.DOT)
        ):
            return after  # a function call such as generate_series(...)
        ref = _token_ref(text, base, parts, position)
        if not (ref.schema is None and ref.name in ctes and position in ("from", "join")):
            refs.append(ref)
        if position not in _LIST_POSITIONS:
            return after
        i = after
        # skip an alias ([AS] name [(cols)]) before a comma that continues the list
        if _word(_at(tokens, i, hi)) == "AS":
            i += 1
        if _is_name(_at(tokens, i, hi)) and _word(tokens[i]) not in (
            "WHERE",
            "IN",
            "RESTART",
            "CONTINUE",
            "CASCADE",
        ):
            i += 1
        if i < hi and tokens[i].token_type == TokenType.L_PAREN and position == "from":
            i = _matching_paren(tokens, i, hi) + 1
        if i < hi and tokens[i].token_type == TokenType.COMMA:
            i += 1
            continue
        return i


def _join_tree_start(tokens: list[Token], i: int, hi: int) -> int:
    """The first relation of a parenthesised join tree at token ``i`` (`(a [AS x] JOIN ...`, PostgreSQL
    puts only a joined table in parentheses); ``i`` itself when the parentheses hold anything else (a
    subquery, `({part} UNION {part})`)."""
    j = i
    while j < hi and tokens[j].token_type == TokenType.L_PAREN:
        j += 1
    if j == i or not _is_name(_at(tokens, j, hi)) or _word(tokens[j]) in _NOT_A_RELATION:
        return i
    found = _read_name(tokens, j, hi)
    if found is None:
        return i
    k = found[1]
    if _word(_at(tokens, k, hi)) == "AS":
        k += 1
    if _is_name(_at(tokens, k, hi)) and _word(tokens[k]) not in _JOIN_WORDS:
        k += 1  # an alias
    return j if _word(_at(tokens, k, hi)) in _JOIN_WORDS else i


# what may follow `FROM (`/`JOIN (` and is no relation's name: a subquery, a VALUES list
_NOT_A_RELATION = frozenset({"SELECT", "WITH", "VALUES", "TABLE", "LATERAL"})
_JOIN_WORDS = frozenset({"JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL"})


def _token_ctes(text: str, tokens: list[Token], lo: int, hi: int) -> frozenset[str]:
    """Names of CTEs declared by any WITH in tokens[lo:hi] (the fallback does not track their scopes)."""
    names: set[str] = set()
    for i in range(lo, hi - 2):
        if _word(tokens[i]) != "WITH" and tokens[i].token_type != TokenType.COMMA:
            continue
        j = i + 1
        if _word(_at(tokens, j, hi)) == "RECURSIVE":
            j += 1
        if not _is_name(_at(tokens, j, hi)):
            continue
        k = j + 1
        if k < hi and tokens[k].token_type == TokenType.L_PAREN:
            k = _matching_paren(tokens, k, hi) + 1
        if _word(_at(tokens, k, hi)) == "AS":
            names.add(fold_identifier(text[tokens[j].start : tokens[j].end + 1]))
    return frozenset(names)


# ----------------------------------------------------------------------------------------------------------
# PL/pgSQL

_SQL_STARTERS = frozenset(
    {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "LOCK", "COPY", "CREATE", "ALTER",
     "DROP", "GRANT", "REVOKE", "COMMENT", "VALUES", "TABLE", "REFRESH", "ANALYZE", "ANALYSE", "VACUUM",
     "REINDEX", "CLUSTER"}
)  # fmt: skip


def _plpgsql_statement(out: _Refs, tokens: list[Token]) -> None:
    """Analyse one PL/pgSQL body statement: its SQL and expressions, and the statements it writes as
    strings to run later (`_sql := format($q$ALTER TABLE x ...$q$, ...)`, then `EXECUTE _sql`)."""
    _plpgsql_control(out, tokens)
    if _word(tokens[0]) not in ("RAISE", "ASSERT"):  # a message is prose
        _statement_texts(out, tokens)
    seen: set[tuple[int, int, str]] = set()
    unique = []
    for ref in out.refs:  # an EXECUTE's string is found twice
        if (ref.start, ref.end, ref.position) not in seen:
            seen.add((ref.start, ref.end, ref.position))
            unique.append(ref)
    out.refs = unique


def _statement_texts(out: _Refs, tokens: list[Token]) -> None:
    """The strings of a body statement that are statements themselves (see STATEMENT_TEXT), and the
    templates of `format()` calls that are; each is analysed as the SQL a later EXECUTE runs."""
    templates: set[int] = set()
    n = len(tokens)
    for i, tok in enumerate(tokens):
        if _word(tok) == "FORMAT" and i + 1 < n and tokens[i + 1].token_type == TokenType.L_PAREN:
            args = _arguments(tokens, i + 1, n)
            template = _string_body(out.text, args[0][0]) if args and len(args[0]) == 1 else None
            if template is not None and STATEMENT_TEXT.match(template[0]):
                segments = _formatted(out.text, tokens, i + 2, _matching_paren(tokens, i + 1, n))
                if segments is not None:
                    templates.add(args[0][0].start)
                    out.dynamic(segments)
        elif (
            tok.start not in templates
            and (body := _string_body(out.text, tok)) is not None
            and STATEMENT_TEXT.match(body[0])
        ):
            out.dynamic(_filled(*body, []))  # a template for a format() elsewhere, maybe


def _plpgsql_control(out: _Refs, tokens: list[Token]) -> None:
    """Strip PL/pgSQL control syntax from one body statement and analyse the SQL and expressions in it."""
    i, n = 0, len(tokens)
    while i < n:
        word = _word(tokens[i])
        if tokens[i].token_type == TokenType.LT and i + 1 < n and tokens[i + 1].token_type == TokenType.LT:
            while i < n and tokens[i].token_type != TokenType.GT:
                i += 1
            i += 2  # <<label>>
        elif word in ("BEGIN", "ELSE", "LOOP", "DECLARE"):
            i += 1
        elif word == "CASE":
            when = _find_top(tokens, i + 1, n, "WHEN")
            i = n if when is None else when  # the WHEN branch analyses the condition
        elif word == "END":
            return
        elif word == "EXCEPTION":
            then = _find_top(tokens, i, n, "THEN")
            i = n if then is None else then + 1
        elif word in ("IF", "ELSIF", "ELSEIF", "WHEN", "WHILE"):
            stop = _find_top(tokens, i + 1, n, "THEN")
            if stop is None:
                stop = _find_top(tokens, i + 1, n, "LOOP")
            end = n if stop is None else stop
            out.expression(tokens, i + 1, end, plpgsql=True)
            i = end + 1
        elif word in ("FOR", "FOREACH"):
            in_index = _find_top(tokens, i + 1, n, "IN")
            loop = _find_top(tokens, i + 1, n, "LOOP")
            end = n if loop is None else loop
            if in_index is not None and in_index < end:
                if _word(_at(tokens, in_index + 1, end)) == "EXECUTE":
                    _dynamic_sql(out, tokens, in_index + 2, end)
                elif (
                    _word(_at(tokens, in_index + 1, end)) == "SELECT"
                    or _word(_at(tokens, in_index + 1, end)) == "WITH"
                ):
                    out.statement(tokens, in_index + 1, end, plpgsql=True)
                else:
                    out.expression(tokens, in_index + 1, end, plpgsql=True)
            i = end + 1
        elif word == "RETURN":
            nxt = _word(_at(tokens, i + 1, n))
            if nxt == "QUERY":
                i += 2
            else:
                out.expression(tokens, i + 2 if nxt == "NEXT" else i + 1, n, plpgsql=True)
                return
        elif word == "PERFORM":
            out.expression(tokens, i + 1, n, plpgsql=True)
            return
        elif word == "OPEN":
            at = _find_top(tokens, i, n, "FOR")
            if at is not None and _word(_at(tokens, at + 1, n)) == "EXECUTE":
                _dynamic_sql(out, tokens, at + 2, n)
            elif at is not None:
                out.statement(tokens, at + 1, n, plpgsql=True)
            return
        elif word == "EXECUTE":
            _dynamic_sql(out, tokens, i + 1, n)
            return
        elif word in (
            "RAISE",
            "GET",
            "NULL",
            "CONTINUE",
            "EXIT",
            "CLOSE",
            "FETCH",
            "MOVE",
            "CALL",
        ):
            return
        elif word in _SQL_STARTERS or tokens[i].token_type == TokenType.L_PAREN:
            out.statement(tokens, i, n, plpgsql=True)
            return
        else:
            # a declaration, `name [CONSTANT] type [NOT NULL] [:= | = | DEFAULT expr]`: a body statement never
            # starts with two names in a row
            k = i + 1 + (_word(_at(tokens, i + 1, n)) == "CONSTANT")
            if _is_name(tokens[i]) and _is_name(_at(tokens, k, n)):
                declared = _type_ref(out.text, out.base, tokens, k, n, "type")
                out.refs.extend([declared] if declared is not None else [])
            assign = next((k for k in range(i, n) if tokens[k].token_type == TokenType.COLON_EQ), None)
            if assign is not None:
                out.expression(tokens, assign + 1, n, plpgsql=True)
            else:
                cursor = _find_words(tokens, i, n, ("CURSOR",))
                at = _find_top(tokens, cursor, n, "FOR") if cursor is not None else None
                if at is not None:
                    out.statement(tokens, at + 1, n, plpgsql=True)
            return


# (text, offset in the statement piece, or None for text that is not in the source: a placeholder)
_Segment = tuple[str, int | None]
_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?-?\d*([sIL%])")
_DYNAMIC_PLACEHOLDER = "dynamic_value"


def _dynamic_sql(out: _Refs, tokens: list[Token], lo: int, hi: int) -> None:
    """The SQL text of an EXECUTE: each string literal is SQL (a whole statement, or the part of one that
    a concatenation builds), and ``format(template, args...)`` is its template with the literal args
    filled in. Names found are reported where they are written, in the template or in an argument."""
    i = lo
    while i < hi and _word(tokens[i]) != "USING":
        tok = tokens[i]
        if _word(tok) == "FORMAT" and i + 1 < hi and tokens[i + 1].token_type == TokenType.L_PAREN:
            close = _matching_paren(tokens, i + 1, hi)
            segments = _formatted(out.text, tokens, i + 2, close)
            if segments is not None:
                out.dynamic(segments)
            i = close + 1
            continue
        body = _string_body(out.text, tok)
        if body is not None:
            out.dynamic([body])
        i += 1


def _string_body(text: str, tok: Token) -> tuple[str, int] | None:
    """(content, offset of the content) of a '...' or $tag$...$tag$ literal; None for anything else."""
    if tok.token_type not in (TokenType.STRING, TokenType.HEREDOC_STRING):
        return None
    raw = text[tok.start : tok.end + 1]
    if raw.startswith("$") and raw.count("$") >= 2:
        tag = raw[: raw.index("$", 1) + 1]
        return raw[len(tag) : -len(tag)], tok.start + len(tag)
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        # '' becomes ' + space: same length, so offsets stay exact
        return raw[1:-1].replace("''", " '"), tok.start + 1
    return None


def _formatted(text: str, tokens: list[Token], lo: int, hi: int) -> list[_Segment] | None:
    """The SQL that ``format(template, args...)`` builds, as segments of the source (tokens[lo:hi] are
    the call's arguments); a non-literal argument becomes a placeholder name."""
    args = _arguments(tokens, lo - 1, hi + 1) or [[]]
    template = _string_body(text, args[0][0]) if len(args[0]) == 1 else None
    if template is None:
        return None
    values = [_string_body(text, a[0]) if len(a) == 1 else None for a in args[1:]]
    return _filled(*template, values)


def _filled(body: str, base: int, values: list[tuple[str, int] | None]) -> list[_Segment]:
    """A format() template's text with its `%s`, `%I` and `%L` filled in: a literal value where
    ``values`` has one, a placeholder name otherwise."""
    segments: list[_Segment] = []
    at, next_arg = 0, 0
    for spec in _FORMAT_SPEC.finditer(body):
        segments.append((body[at : spec.start()], base + at))
        at = spec.end()
        if spec.group(2) == "%":
            segments.append(("%", None))
            continue
        index = int(spec.group(1)) - 1 if spec.group(1) else next_arg
        next_arg = index + 1
        value = values[index] if 0 <= index < len(values) else None
        if spec.group(2) == "L":
            segments.append(("NULL", None))  # a literal value, never a name
        elif value is None:
            segments.append((_DYNAMIC_PLACEHOLDER, None))
        else:
            segments.append(value)
    segments.append((body[at:], base + at))
    return segments


# ----------------------------------------------------------------------------------------------------------
# DDL effects


def _ddl(text: str, tokens: list[Token], kind: str, i: int) -> dict[str, object]:
    """What a DDL statement defines, renames or drops, read from its tokens."""
    info: dict[str, object] = {}
    n = len(tokens)
    verb = kind.split(" ", 1)[0]
    if verb not in ("create", "alter", "drop") or " " not in kind:
        return info
    if verb == "create" and _find_words(tokens, 0, min(n, 4), ("OR", "REPLACE")) is not None:
        info["replace"] = True
    if kind == "create index":
        while _word(_at(tokens, i, n)) in ("CONCURRENTLY", "IF", "NOT", "EXISTS"):
            i += 1
        if _word(_at(tokens, i, n)) != "ON":
            found = _read_name(tokens, i)
            if found is not None:
                info["name"] = _qname(text, found[0])
        on = _find_top(tokens, i, n, "ON")
        on_name = _read_name(tokens, on + 1) if on is not None else None
        if on_name is not None:
            info["on"] = _qname(text, on_name[0])
        return info
    if verb == "drop":
        names: list[QName] = []
        while True:
            found = _read_name(tokens, i)
            if found is None:
                break
            names.append(_qname(text, found[0]))
            i = found[1]
            if i < n and tokens[i].token_type == TokenType.L_PAREN:
                i = _matching_paren(tokens, i) + 1
            if i < n and tokens[i].token_type == TokenType.COMMA:
                i += 1
                continue
            break
        if names:
            info["names"] = tuple(names)
            info["name"] = names[0]
        on = _find_top(tokens, i, n, "ON")
        on_name = _read_name(tokens, on + 1) if on is not None else None
        if on_name is not None:
            info["on"] = _qname(text, on_name[0])
        return info
    found = _read_name(tokens, i)
    if found is None:
        return info
    info["name"] = _qname(text, found[0])
    after = found[1]
    if (
        kind in ("create view", "create materialized view")
        and after < n
        and tokens[after].token_type == TokenType.L_PAREN
    ):
        close = _matching_paren(tokens, after)
        cols = [
            tokens[k]
            for k in range(after + 1, close)
            if tokens[k].token_type in _NAME_TYPES or _is_name(tokens[k])
        ]
        info["columns"] = tuple(fold_identifier(text[t.start : t.end + 1]) for t in cols)
    if kind in ("create trigger", "create policy", "create rule", "alter trigger", "alter policy"):
        key = "TO" if kind == "create rule" else "ON"
        on = _find_top(tokens, after, n, key)
        on_name = _read_name(tokens, on + 1) if on is not None else None
        if on_name is not None:
            info["on"] = _qname(text, on_name[0])
    if kind == "create trigger":
        for timing in ("BEFORE", "AFTER", "INSTEAD"):
            if _find_top(tokens, after, n, timing) is not None:
                info["timing"] = "instead of" if timing == "INSTEAD" else timing.lower()
                break
        each = _find_words(tokens, after, n, ("EACH", "ROW"))
        info["row_level"] = each is not None
        execute = _find_top(tokens, after, n, "EXECUTE")
        target = _read_name(tokens, execute + 2) if execute is not None else None
        if target is not None:
            info["executes"] = _qname(text, target[0])
    if kind in ("create function", "create procedure"):
        info["language"] = _language(tokens)
    if verb == "alter":
        rename = _find_words(tokens, after, n, ("RENAME", "TO"))
        new = _read_name(tokens, rename + 2) if rename is not None else None
        if new is not None:
            info["rename_to"] = _qname(text, new[0])[1]
        set_schema = _find_words(tokens, after, n, ("SET", "SCHEMA"))
        schema = _read_name(tokens, set_schema + 2) if set_schema is not None else None
        if schema is not None:
            info["new_schema"] = _qname(text, schema[0])[1]
        for words in (("ADD", "CONSTRAINT"), ("DROP", "CONSTRAINT")):
            at = _find_words(tokens, after, n, words)
            if at is not None:
                name = _read_name(tokens, at + 2)
                if name is not None:
                    info["constraint"] = _qname(text, name[0])[1]
    return info
