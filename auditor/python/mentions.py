"""Why an occurrence of a legacy name in Python source is not a reference, read from its tokens.

Runs only on occurrences that no finding covers. A comment, a Python identifier, a docstring, a dict key,
a log or exception message, a URL, prose, or a word SQL text uses as a column or alias is not a reference;
anything else (a string that holds the bare name, SQL-shaped text the analyzer did not connect to a
query) stays unclassified and becomes a low-confidence LR006 finding: the scan never drops it in silence.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from keyword import iskeyword
from typing import Any

from auditor.core.source import LineIndex
from auditor.python.syntax import parse_python
from auditor.sql.analyses import NAME_VALUE, REFERENCE
from auditor.sql.mentions import (
    NOT_A_REFERENCE,
    SQL_BESIDE_QUALIFIER,
    SQL_CAPITALS_BESIDE_QUALIFIER,
    SQL_FRAGMENT,
    UNCLASSIFIED,
    LegacyTest,
    Verdict,
    other_relation,
    sql_word_reason,
)
from auditor.sql.statements import STATEMENT_TEXT

# calls whose string arguments are messages for people, never SQL
MESSAGE_CALLS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "print", "echo",
     "secho", "gettext", "ngettext", "_", "gettext_lazy", "pgettext", "format_html", "mark_safe"}
)  # fmt: skip
MESSAGE_CLASS = re.compile(r"(?:[A-Z]\w*)?(?:Error|Exception|Warning)")  # `Exception` too
# keyword arguments that hold text for people
_LABEL_KEYWORDS = frozenset(
    {"help", "help_text", "description", "verbose_name", "verbose_name_plural", "label", "title", "msg",
     "message", "summary", "doc", "name_plural", "brief", "usage", "epilog"}
)  # fmt: skip
# keyword arguments that hold a key (of a cache, a page, a mapping), never a table
_KEY_KEYWORDS = frozenset({"key", "cache_key", "key_prefix", "key_suffix"})
# keyword arguments whose list labels an API's operations for its documentation (FastAPI's `APIRouter(
# tags=["orders"])`, `@router.get(..., tags=[...])`): labels for people, never tables
_TAG_KEYWORDS = frozenset({"tags"})
# keyword arguments that name a web route (Flask's `endpoint=`), never a table
_ROUTE_KEYWORDS = frozenset({"endpoint"})
# keyword arguments whose value says what it is, and it is never a table: a logger's name (`caplog.at_level(
# ..., logger="x")`), a program's (click's and typer's `prog_name=`, argparse's `prog=`), a service's
# (OpenTelemetry, logfire), a test's or an element's id (pytest's `ids=(...)`, `pytest.param(..., id="x")`),
# a user's login (`create_user(username="x", password="y")`)
_NAMED_KEYWORDS = {
    "logger": "a logger's name", "logger_name": "a logger's name", "prog_name": "a program's name",
    "prog": "a program's name", "service_name": "a service's name", "id": "an id (of a test, an element)",
    "ids": "an id (of a test, an element)", "username": "a user's login", "password": "a user's login",
}  # fmt: skip
# calls whose argument at that position is a logger's name (`logging.getLogger("x")`)
_LOGGER_CALLS = frozenset({"getLogger", "get_logger", "getChild"})
# a test's check that a web response holds a text (Django's `assertContains(response, "x")`)
_RESPONSE_CHECKS = frozenset({"assertContains", "assertNotContains", "assertInHTML"})
# the keyword arguments a function received, read by key (`kwargs.get("x")`): a parameter's name
_KEYWORD_DICTS = frozenset({"kwargs", "kw", "kwds"})
# keyword arguments that name Python attributes an ORM creates or a serializer reads (marshmallow's
# `fields.Nested(..., attribute="x")`), never tables
_ATTRIBUTE_KEYWORDS = frozenset(
    {"related_name", "related_query_name", "back_populates", "backref", "attribute"}
)
# calls whose argument at that position (or `name=`) names a CLI command or a web blueprint: Flask's
# `Blueprint("orders", __name__)`, flask-restx's `Namespace("orders")` / `api.namespace("orders")`, click's
# `@click.group("orders")`, `cli.add_command(orders_cli, "orders")`
_COMMAND_NAME_ARGUMENT = {
    "Blueprint": 0, "Namespace": 0, "namespace": 0, "group": 0, "command": 0, "add_command": 1,
}  # fmt: skip
# calls whose argument at that position names a Python attribute
_ATTRIBUTE_ARGUMENT = {
    "getattr": 1,
    "hasattr": 1,
    "setattr": 1,
    "delattr": 1,
    "backref": 0,
    "association_proxy": 0,
}
# calls whose argument at that position names a column (SQLAlchemy `Column("total", ...)`,
# `mapped_column("total")`, `column("total")`), and keyword arguments that do (Django's `db_column=`)
_COLUMN_ARGUMENT = {"Column": 0, "mapped_column": 0, "column": 0}
# calls whose positional arguments from that one on all name columns (SQLAlchemy's constraints and indexes)
_COLUMNS_FROM = {"UniqueConstraint": 0, "PrimaryKeyConstraint": 0, "Index": 1}
# a keyword or a variable whose name says it holds a kind of thing (`resource_type=`, `CALLBACK_KIND = `)
_KIND_NAME = re.compile(r"(?i:.+_(?:type|kind))|.*[a-z](?:Type|Kind)")
_COLUMN_KEYWORDS = frozenset({"db_column"})
# mappings keyed by table name (SQLAlchemy's `MetaData.tables`): a key there may well be the table
_TABLE_MAPPINGS = frozenset({"tables"})
# keyword arguments whose list or set names the fields or attributes of a model (pydantic, marshmallow,
# Django REST framework, SQLAlchemy's load_only)
_FIELD_KEYWORDS = frozenset(
    {"exclude", "include", "fields", "only", "load_only", "dump_only", "read_only_fields"}
)
# Django QuerySet methods whose arguments name a model's fields or relations, never tables
# (`Site.objects.select_related("country")`, `.only("name")`, `.order_by("-created")`)
_FIELD_METHODS = frozenset(
    {"select_related", "prefetch_related", "only", "defer", "values", "values_list", "order_by"}
)
# attributes of a Django admin or serializer class that list field names (`list_display = [...]`,
# `search_fields`, `cache_fields`: any name ending in `_fields`)
_FIELD_LISTS = frozenset({"list_display", "list_filter", "list_select_related", "ordering"})
# mapping methods whose first argument is a key (`payload.pop("x")`); `.get` is left out: many clients'
# `get` takes a path or a name
_KEY_METHODS = frozenset({"pop", "setdefault"})
# the data of a web request or a validated form, read by key: `request.GET.get("x")`, `serializer.
# validated_data.get`, `form.cleaned_data.get`; and, on a request, `request.data.get` (Flask, DRF), `.args`,
# `.form`, `.json`, `.values`, `.headers`, `.cookies`, `.params` (a client's own `get` may take a name,
# `payload.get(...)` tells nothing)
_PAYLOAD_OWNERS = frozenset(
    {
        "GET",
        "POST",
        "COOKIES",
        "META",
        "FILES",
        "query_params",
        "validated_data",
        "cleaned_data",
        "initial_data",
    }
)
_REQUEST_PARTS = frozenset(
    {"data", "args", "form", "json", "values", "headers", "cookies", "params", "files"}
)
_REQUESTS = frozenset({"request", "req"})
_PAYLOAD_METHODS = frozenset({"get", "getlist", "pop"})
_TABLE_KEYWORD_BEFORE = re.compile(
    # `CREATE TABLE IF NOT EXISTS t`, `DROP TABLE IF EXISTS t`, `ALTER TABLE IF EXISTS ONLY t`
    r"(?i)(?:\b(?:from|join|into|update|table|truncate)\s+(?:if\s+(?:not\s+)?exists\s+)?(?:only\s+)?"
    # the table of a trigger or a grant (`AFTER INSERT OR UPDATE ON t`, `GRANT SELECT ON t`), of a named
    # trigger, policy, rule or index (`CREATE POLICY p ON t`, `CREATE INDEX IF NOT EXISTS i ON t`)
    r"|\b(?:insert|update|delete|truncate|select)\s+on\s+"
    r"|\b(?:trigger|policy|rule|index)\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?\w+\s+on\s+(?:only\s+)?)"
    r"(?:\w+\.)?[\"`]?\Z"
)
# text that starts as a procedural block does (or as a statement, STATEMENT_TEXT): SQL, not prose
_BLOCK_START = re.compile(r"\s*(?:begin|declare|do)\s", re.IGNORECASE)
_ALIAS_BEFORE = re.compile(r"(?i)(?:\bas\s+|\b(?:from|join)\s+(?:\w+\.)?\w+\s+)\"?\Z")
_COLUMN_TYPE_AFTER = re.compile(
    r"(?i)\s+(?:text|integer|int|bigint|smallint|varchar2?|char|character|boolean|bool|jsonb?|timestamp\w*|date"
    r"|numeric|decimal|real|double|uuid|serial|bigserial|bytea)\b"
)
_CLAUSE_WORD = re.compile(r"\b(?:FROM|INTO|TABLE|SET|VALUES|WHERE|JOIN|ON|VIEW|INDEX|EXECUTE)\b")
_QUALIFIER_AFTER = re.compile(r'"?\s*\.\s*(?:[A-Za-z_"*])')
_SENTENCE_END = re.compile(r"\.\s+[A-Z][a-z]")  # a full stop, a space, a capitalised word
_SQL_SHAPED = "SQL-shaped text (a table keyword or a column qualifier) that reaches no analysed query"
# keyword arguments that take a clause of a query, as text (`group_by=["t.id"]`, `order_by="t.x DESC"`)
_SQL_CLAUSE_KEYWORDS = frozenset({"group_by", "order_by", "where", "having", "join", "joins"})
_SQL_FRAGMENT = (
    "a SQL fragment names the table as a column qualifier beside SQL operators or clauses; no analysed "
    "query was seen running it"
)
_FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", -1)
_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_FILE_EXTENSIONS = (
    r"(?:txt|csv|tsv|json|jsonl|ndjson|ya?ml|toml|ini|cfg|log|md|rst|html?|xml|png|jpe?g|gif|svg|webp|ico|"
    r"pdf|zip|gz|bz2|xz|zst|tgz|tar|xlsx?|parquet|avro|feather|arrow|pickle|pkl|db|sqlite3?|py|sql|mp3|mp4|wav)"
)
_FILE_NAME = re.compile(rf"[\w./-]+\.{_FILE_EXTENSIONS}", re.IGNORECASE)
# a qualifier's column that is a file extension (`journals.json`): a file name, not SQL, unless an SQL
# operator follows it (`instance.json->>%s`: a column named `json`)
_FILE_SUFFIX = re.compile(rf'"?\s*\.\s*{_FILE_EXTENSIONS}\b(?!\s*(?:->|::|#>|@>|<@|\?[|&]))', re.IGNORECASE)
# `.macaroons`, `..views.journals`: a relative Python module path (SQL text never starts with a dot)
_RELATIVE_MODULE = re.compile(r"\.+[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
# `{name.attr}`, `{name.attr.attr!r:>10}`: a str.format replacement field that reads attributes (no SQL
# writes a brace before a name)
_FORMAT_FIELD = re.compile(r"\{[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:![rsa])?(?::[^{}]*)?\}")
_COMPARISONS = frozenset({"==", "!=", "in", "not", "is"})
# from the name on: `name-column`, the column in lower snake case
_TABLE_COLUMN_KEY = re.compile(r"[A-Za-z_][\w$]*-[a-z_][a-z0-9_]*")
# a variable named for what it holds: a table's name (`table`, `table_name`, `tablename`, `relname`)
# a variable named for SQL text (`sql`, `statement`, `query_sql`, `stmt`)
_SQL_VARIABLE = re.compile(r"(?i)(?:^|_)(?:sql|stmt|statements?|query|queries)(?:_|$)")
_TABLE_VARIABLE = re.compile(r"(?i)(?:^|_)(?:tables?|tbl|relname|tablename)(?:_?names?)?(?:_|$)")
# legacy name -> every column the scanned code gives its table (only where it gives them all)
Columns = Mapping[str, Sequence[str]]
_SKIPPED = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})


@dataclass
class _StringRun:
    """Consecutive string tokens (one implicit concatenation) that hold uncovered occurrences."""

    tokens: list[tokenize.TokenInfo]
    offsets: list[tuple[int, int, int]]  # (token index in run, occurrence start, end) as text offsets
    starts_line: bool
    bracket: str  # the innermost open bracket: "(", "[", "{" or ""
    subscript: bool  # that bracket is a subscript (`rows["x"]`), not a list display (`f(["x"])`)
    callee: str  # the name called by the innermost "(" ("" when none)
    argument: int  # the position of the run among that call's arguments
    before: str  # the significant token before the run
    compared: str  # `table_name == "x"`: the name compared with the run
    keyword: str  # `name=` right before the run
    owner: str  # `x.get(`: x; `x[`: x (the object the bracket belongs to)
    within: str  # `exclude={...}`: the keyword whose value the innermost bracket opens
    parent: str  # `request.data.get(`: request (what the owner is an attribute of)
    container: str = ""  # `"x" in statement`: the name after `in`
    message: str = ""  # the message call whose argument holds the run in a list, tuple or dict display


def classify_python(
    text: str,
    occurrences: Iterable[tuple[int, int]],
    is_legacy: LegacyTest,
    spans: Sequence[tuple[int, int]] | None = None,
    columns: Columns | None = None,
) -> dict[int, Verdict]:
    """A verdict for each (start, end) occurrence, keyed by start offset.

    Only the statements that hold an occurrence are tokenized (CPython's parser finds them, unless
    ``spans``, the statement spans the extraction took from its own parse of this text, are given), not
    the whole file: pure-Python tokenizing is the cost of this pass. A file that does not parse, or an
    occurrence outside any simple statement (a compound statement's header), is read whole."""
    pending = sorted(occurrences)
    out: dict[int, Verdict] = {}
    if not pending:
        return out
    lines = LineIndex(text)
    rest = pending
    if spans is None:
        try:
            spans = statement_spans(parse_python(text), text, lines)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            spans = None
    if spans is not None:
        rest = []
        for (lo, hi), inside in _statement_windows(text, lines, pending, spans).items():
            if lo < 0:  # a comment line, or a comment after a statement
                out.update((start, Verdict(NOT_A_REFERENCE, "a comment")) for start, _ in inside)
            elif lo == hi:
                rest.extend(inside)
            else:
                _classify(text[lo:hi], [(s - lo, e - lo) for s, e in inside], is_legacy, out, lo, columns)
    if rest:
        _classify(text, rest, is_legacy, out, 0, columns)
    for start, _ in pending:
        out.setdefault(start, Verdict(UNCLASSIFIED, "no Python token holds this occurrence"))
    return out


def _classify(
    text: str,
    pending: list[tuple[int, int]],
    is_legacy: LegacyTest,
    out: dict[int, Verdict],
    shift: int,
    columns: Columns | None,
) -> None:
    if not text.endswith("\n"):
        text += "\n"  # the tokenizer's last tokens stand on the line after the text's last
    try:
        for start, _, verdict in _walk(text, LineIndex(text), pending, is_legacy, columns):
            out.setdefault(start + shift, verdict)
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        message = f"the file could not be tokenized ({exc.__class__.__name__})"
        for start, _ in pending:
            out.setdefault(start + shift, Verdict(UNCLASSIFIED, message))


_COMPOUND_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def statement_spans(tree: ast.Module, text: str, lines: LineIndex) -> list[tuple[int, int]]:
    """The (start, end) character offsets of every simple statement of a parsed module, and of every
    compound statement's header (`def f(table="x"):`, `if kind == "x":`, decorators), sorted."""
    starts = lines.starts

    def offset(lineno: int, byte_col: int) -> int:
        line_start = starts[lineno - 1]
        head = text[line_start : line_start + byte_col]
        if not head.isascii():  # ast columns count UTF-8 bytes
            head = text[line_start:].encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace")
        return line_start + len(head)

    spans: list[tuple[int, int]] = []
    stack: list[list[ast.AST]] = [list(reversed(tree.body))]
    while stack:  # source order: a compound statement's parts, depth first
        if not stack[-1]:
            stack.pop()
            continue
        node = stack[-1].pop()
        parts = [getattr(node, name, None) for name in _COMPOUND_BODIES]
        children = [c for part in parts if isinstance(part, list) for c in part]
        # a `case` has no position of its own: its statements stand for it (its pattern: the whole file)
        children = [b for c in children for b in (c.body if isinstance(c, ast.match_case) else [c])]
        decorators = getattr(node, "decorator_list", None) or []
        first_line = min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]
        begin = starts[first_line - 1] if decorators else offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        if not children:
            end = offset(node.end_lineno or node.lineno, node.end_col_offset or 0)  # type: ignore[attr-defined]
            spans.append((begin, end))
            continue
        children.sort(key=lambda c: (c.lineno, c.col_offset))  # type: ignore[attr-defined]
        header_end = offset(children[0].lineno, children[0].col_offset)  # type: ignore[attr-defined]
        if begin < header_end and isinstance(node, ast.stmt):
            spans.append((begin, header_end))
        stack.append(children[::-1])
    spans.sort()
    return spans


def _statement_windows(
    text: str, lines: LineIndex, pending: list[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Each occurrence under the (start, end) offsets of the simple statement that holds it; (-1, -1)
    for one in a comment outside statements; (0, 0) for the rest (read with the whole file)."""
    starts = lines.starts
    span_starts = [lo for lo, _ in spans]
    windows: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for start, end in pending:
        at = bisect.bisect_right(span_starts, start) - 1
        if at >= 0 and spans[at][0] <= start < spans[at][1]:
            windows.setdefault(spans[at], []).append((start, end))
            continue
        line_start = starts[lines.line(start) - 1]
        after_statement = max(0, (spans[at][1] if at >= 0 else 0) - line_start)
        before = text[line_start:start]
        hash_at = before.find("#", after_statement)
        if hash_at >= 0 and not before[after_statement:hash_at].strip(" \t;"):
            windows.setdefault((-1, -1), []).append((start, end))  # nothing but a comment can follow
        else:
            windows.setdefault((0, 0), []).append((start, end))
    return windows


def _walk(
    text: str,
    lines: LineIndex,
    pending: list[tuple[int, int]],
    is_legacy: LegacyTest,
    columns: Columns | None,
) -> Iterator[tuple[int, int, Verdict]]:
    starts = lines.starts
    brackets: list[list[Any]] = []  # [bracket, callee, commas seen at its level]
    previous: list[tokenize.TokenInfo] = []  # the last five significant tokens
    run: _StringRun | None = None
    # a run before `in`, that token, and the call argument the run is (see `_argument_column`)
    held: tuple[_StringRun, tokenize.TokenInfo, tuple[str, int] | None] | None = None
    at_line_start = True
    index = 0  # first pending occurrence not yet passed
    # a call's positional argument that receives text for people elsewhere in the text read: how many
    # such strings each (callee, position) gets, and the bare names there whose verdict waits for the count
    prose: dict[tuple[str, int], int] = {}
    deferred: list[tuple[tuple[str, int], int, int, Verdict]] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        lo = starts[tok.start[0] - 1] + tok.start[1]
        hi = starts[tok.end[0] - 1] + tok.end[1]
        inside: list[tuple[int, int]] = []
        while index < len(pending) and pending[index][0] < hi:
            if pending[index][0] >= lo:
                inside.append(pending[index])
            index += 1
        kind = tok.type
        if kind == tokenize.COMMENT:
            for start, end in inside:
                yield start, end, Verdict(NOT_A_REFERENCE, "a comment")
            continue
        if kind in _SKIPPED:
            continue
        if kind == tokenize.STRING:
            if run is None:
                bracket, callee, argument, subscript, owner, within, parent = (
                    brackets[-1] if brackets else ("", "", 0, False, "", "", "")
                )
                before = previous[-1].string if previous else ""
                keyword = previous[-2].string if len(previous) >= 2 and before == "=" else ""
                compared = (
                    previous[-2].string
                    if len(previous) >= 2 and before in _COMPARISONS and previous[-2].type == tokenize.NAME
                    else ""
                )
                run = _StringRun(
                    [], [], at_line_start, bracket, subscript, callee, argument, before, compared, keyword,
                    owner, within, parent, message=_message_around(brackets),
                )  # fmt: skip
            run.tokens.append(tok)
            run.offsets.extend((len(run.tokens) - 1, s, e) for s, e in inside)
            at_line_start = False
            continue
        if held is not None and not (held[1].string == "not" and tok.string == "in"):
            # `"x" in statement`: the name a string is looked for in, once it is read
            held[0].container = tok.string if kind == tokenize.NAME else ""
            yield from _labelled(_string_run(lines, held[0], held[1], is_legacy, columns), held[2], deferred)
            held = None
        if run is not None:
            column = _argument_column(run)
            if column is not None and _is_prose(run):
                prose[column] = prose.get(column, 0) + 1
            if run.offsets and tok.string in ("in", "not"):
                held = (run, tok, column)  # its verdict waits for the next token
            elif run.offsets:
                yield from _labelled(_string_run(lines, run, tok, is_legacy, columns), column, deferred)
            previous = [*previous, run.tokens[-1]][-5:]
            run = None
        if kind == tokenize.NAME:
            for start, end in inside:
                yield start, end, Verdict(NOT_A_REFERENCE, "a Python identifier")
        elif kind == _FSTRING_MIDDLE:  # Python 3.12+: the literal text of an f-string, as its own token
            for start, end in inside:
                yield (
                    start,
                    end,
                    classify_string(f'"{tok.string}"', start - lo + 1, end - start, is_legacy, columns),
                )
        elif kind == tokenize.OP:
            if tok.string in "([{":
                last = previous[-1] if previous else None
                callee = last.string if tok.string == "(" and last is not None else ""
                # `x[`, `f()[`, `"s"[`: a subscript; after an operator, a comma or a keyword: a list
                subscript = (
                    tok.string == "["
                    and last is not None
                    and (
                        (last.type == tokenize.NAME and not iskeyword(last.string))
                        or last.type == tokenize.STRING
                        or last.string in (")", "]", "}")
                    )
                )
                # whose bracket (`x.get(`: x; `tables[`: tables); the keyword it is the value of (`exclude={`)
                dotted = len(previous) >= 3 and previous[-2].string == "."
                owner = (
                    previous[-3].string
                    if tok.string == "(" and dotted
                    else last.string
                    if subscript and last is not None and last.type == tokenize.NAME
                    else ""
                )
                within = (
                    previous[-2].string if len(previous) >= 2 and previous[-1].string in ("=", "+=") else ""
                )
                # `request.data.get(`: the object the owner is an attribute of (request)
                parent = (
                    previous[-5].string if owner and len(previous) >= 5 and previous[-4].string == "." else ""
                )
                brackets.append(
                    [tok.string, callee if callee.isidentifier() else "", 0, subscript, owner, within, parent]
                )
            elif tok.string in ")]}" and brackets:
                brackets.pop()
            elif tok.string == "," and brackets:
                brackets[-1][2] += 1
        at_line_start = kind in (tokenize.NEWLINE, tokenize.ENDMARKER)
        previous = [*previous, tok][-5:]
    for column, start, end, verdict in deferred:
        if prose.get(column, 0) >= _LABEL_SIBLINGS:
            callee, position = column
            verdict = Verdict(
                NOT_A_REFERENCE,
                f"a label: other calls of `{callee}(...)` pass text for people at argument {position + 1}",
            )
        yield start, end, verdict


# `ReportField("country_name", "Country")` beside `ReportField("site_name", "Site name")`: a position
# where the same call receives prose at least this often holds labels (a table name has no spaces)
_LABEL_SIBLINGS = 2
_SQL_WORDS = re.compile(r"(?i)\b(?:select|from|join|into|update|insert|delete|where|table|values)\b")


def _message_around(brackets: list[list[Any]]) -> str:
    """The log, print or exception call whose argument is the list, tuple or dict display that holds a
    string (`ValidationError([{"loc": "x"}])`); "" when a call or a subscript comes first (what a call
    inside a message computes runs)."""
    for bracket, callee, _, subscript, *_ in reversed(brackets[:-1] if brackets else []):
        if bracket == "(" and callee:
            return callee if callee in MESSAGE_CALLS or MESSAGE_CLASS.fullmatch(callee) else ""
        if subscript:
            return ""
    return ""


def _argument_column(run: _StringRun) -> tuple[str, int] | None:
    """(callee, position) of a run that is a whole positional argument of a named call."""
    if run.bracket != "(" or not run.callee or run.keyword or run.before not in ("(", ","):
        return None
    return run.callee, run.argument


def _is_prose(run: _StringRun) -> bool:
    """Text for people: words with spaces between them, none of them an SQL keyword."""
    text = " ".join(tok.string for tok in run.tokens)
    return len(text.split()) >= 2 and _SQL_WORDS.search(text) is None and "{" not in text


def _labelled(
    verdicts: Iterator[tuple[int, int, Verdict]],
    column: tuple[str, int] | None,
    deferred: list[tuple[tuple[str, int], int, int, Verdict]],
) -> Iterator[tuple[int, int, Verdict]]:
    """A run's verdicts; a bare name that nothing classified, in a call's argument (``column``), waits
    (see `_walk`)."""
    for start, end, verdict in verdicts:
        if column is not None and verdict.reason == _BARE_NAME:
            deferred.append((column, start, end, verdict))
        else:
            yield start, end, verdict


def _string_run(
    lines: LineIndex,
    run: _StringRun,
    after: tokenize.TokenInfo,
    is_legacy: LegacyTest,
    columns: Columns | None,
) -> Iterator[tuple[int, int, Verdict]]:
    whole = _run_verdict(run, after)
    starts = lines.starts
    for index, start, end in run.offsets:
        if (
            whole is not None
            and whole.reason not in _PYTHON_VALUES
            and not whole.reason.startswith(_OVERRIDDEN_BY_SQL)
        ):
            yield start, end, whole
            continue
        tok = run.tokens[index]
        tok_start = starts[tok.start[0] - 1] + tok.start[1]
        verdict = classify_string(tok.string, start - tok_start, end - start, is_legacy, columns)
        # a value Python compares or looks up is not SQL, unless its own text is (a test that checks the
        # SQL a query builder wrote: `assert "ORDER BY legacy.id DESC" in sql`)
        if whole is not None and verdict.verdict != SQL_FRAGMENT and verdict.reason != _SQL_TEXT:
            verdict = whole
        elif (
            verdict.reason == _SQL_SHAPED
            and (run.keyword in _SQL_CLAUSE_KEYWORDS or run.within in _SQL_CLAUSE_KEYWORDS)
            and _QUALIFIER_AFTER.match(tok.string, end - tok_start)
            and tok.string[start - tok_start : end - tok_start].islower()
        ):
            # `group_by=["legacy.id"]`, `order_by="legacy.created DESC"`: a qualifier handed on as a clause
            # (`order_by="Ledger.created"` in SQLAlchemy's relationship() names a class: it stays LR006)
            verdict = Verdict(SQL_FRAGMENT, _SQL_FRAGMENT)
        elif verdict.reason == _BARE_NAME and run.bracket == "(" and not run.keyword and _is_path_call(run):
            called = f"{run.owner}.{run.callee}" if run.callee == "join" else run.callee
            verdict = Verdict(NOT_A_REFERENCE, f"a file path component (`{called}(...)`), not a table")
        yield start, end, verdict


_SQL_TEXT = "SQL text names the table here, but no analysed database call or sink runs it"
_COMPARED = "a value compared in Python"
_SUBSCRIPT_KEY = "a subscript key"
_DICT_KEY = "a dict key"
_LOOKED_FOR = "a value looked for in "
# verdicts from where a string stands that its own text overrides when it is SQL (and those that start
# with one of _OVERRIDDEN_BY_SQL: `.order_by("ledger.created DESC")` is a SQL fragment, not a field)
_PYTHON_VALUES = frozenset({_COMPARED, _SUBSCRIPT_KEY, _DICT_KEY})
_FIELD_METHOD_ARGUMENT = "a model field or relation"
_FIELD_LIST_ENTRY = "a field name (`"
_KIND_VALUE = "a kind or type value (`"
_OVERRIDDEN_BY_SQL = (_LOOKED_FOR, _FIELD_METHOD_ARGUMENT, _FIELD_LIST_ENTRY, _KIND_VALUE)


def _run_verdict(run: _StringRun, after: tokenize.TokenInfo) -> Verdict | None:
    """A verdict that holds for every occurrence in the run, from where the strings stand in the code."""
    if run.starts_line and after.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
        return Verdict(NOT_A_REFERENCE, "a docstring or bare string statement (never executed)")
    if _TABLE_VARIABLE.search(run.compared):  # `if table_name == "x"`: a table name compared with one
        return Verdict(UNCLASSIFIED, f"a value compared with `{run.compared}`, which may hold a table name")
    if _SQL_VARIABLE.search(run.container):  # `"x" in statement`: looked for in SQL text, as a table name
        return Verdict(UNCLASSIFIED, f"{_LOOKED_FOR}`{run.container}`, which may hold SQL text")
    if run.before in _COMPARISONS or after.string in _COMPARISONS:
        return Verdict(NOT_A_REFERENCE, _COMPARED)
    if run.before == "->":
        return Verdict(NOT_A_REFERENCE, "a return type annotation (a forward reference to a Python class)")
    if run.before == "case" and after.string in (":", "|", "if"):
        return Verdict(NOT_A_REFERENCE, "a match-case pattern, compared in Python")
    if run.bracket == "{" and after.string == ":":
        return Verdict(NOT_A_REFERENCE, _DICT_KEY)
    if run.bracket == "[" and run.subscript and run.before == "[" and after.string == "]":
        if run.owner in _TABLE_MAPPINGS:  # `metadata.tables["x"]`: SQLAlchemy's tables, by their names
            return Verdict(UNCLASSIFIED, f"a key of `{run.owner}`, a mapping of tables by name")
        return Verdict(NOT_A_REFERENCE, _SUBSCRIPT_KEY)
    if run.bracket == "(" and run.callee == "get" and run.argument == 0 and run.owner in _TABLE_MAPPINGS:
        return Verdict(UNCLASSIFIED, f"a key of `{run.owner}`, a mapping of tables by name")
    if run.within == "__all__" and run.bracket in ("[", "("):  # `__all__ = ["Ledger", ...]`
        return Verdict(NOT_A_REFERENCE, "a name the module exports (`__all__`): a Python identifier")
    if run.within in _FIELD_KEYWORDS and run.bracket in ("[", "{", "("):
        return Verdict(NOT_A_REFERENCE, f"a field or attribute name (`{run.within}=...`), not a table")
    if (run.within in _FIELD_LISTS or (run.within or "").endswith("_fields")) and run.bracket in ("[", "("):
        return Verdict(NOT_A_REFERENCE, f"{_FIELD_LIST_ENTRY}{run.within} = [...]`), not a table")
    if run.bracket == "(" and run.callee in _FIELD_METHODS and not run.keyword:
        return Verdict(NOT_A_REFERENCE, f"{_FIELD_METHOD_ARGUMENT} (`.{run.callee}(...)`), not a table")
    if run.keyword in _LABEL_KEYWORDS:
        return Verdict(NOT_A_REFERENCE, f"text for people (`{run.keyword}=`)")
    if run.within in _TAG_KEYWORDS and run.bracket in ("[", "("):
        return Verdict(NOT_A_REFERENCE, f"a label of an API's operations (`{run.within}=[...]`), not a table")
    if run.bracket == "(" and _ATTRIBUTE_ARGUMENT.get(run.callee) == run.argument and not run.keyword:
        return Verdict(NOT_A_REFERENCE, f"a Python attribute name (`{run.callee}(...)`), not a table")
    if (
        run.bracket == "("
        and run.callee in _COMMAND_NAME_ARGUMENT
        and (
            run.keyword == "name" or (_COMMAND_NAME_ARGUMENT[run.callee] == run.argument and not run.keyword)
        )
    ):
        return Verdict(NOT_A_REFERENCE, f"the name of a CLI command or a web blueprint (`{run.callee}(...)`)")
    if run.bracket == "(" and _COLUMN_ARGUMENT.get(run.callee) == run.argument and not run.keyword:
        return Verdict(NOT_A_REFERENCE, f"a column name (`{run.callee}(...)`), not a table")
    if run.bracket == "(" and not run.keyword and run.argument >= _COLUMNS_FROM.get(run.callee, 1 << 30):
        return Verdict(NOT_A_REFERENCE, f"a column name (`{run.callee}(...)`), not a table")
    if run.keyword and _KIND_NAME.fullmatch(run.keyword):
        return Verdict(NOT_A_REFERENCE, f"{_KIND_VALUE}{run.keyword}=`), not a table")
    if run.keyword in _KEY_KEYWORDS and run.bracket == "(":
        return Verdict(NOT_A_REFERENCE, f"a key (`{run.keyword}=`), not a table")
    named = _NAMED_KEYWORDS.get(run.keyword or run.within)
    if named is not None and run.bracket in ("(", "[") and (run.keyword or run.within == "ids"):
        return Verdict(NOT_A_REFERENCE, f"{named} (`{run.keyword or run.within}=`), not a table")
    if run.bracket == "(" and run.callee in _LOGGER_CALLS and run.argument == 0 and not run.keyword:
        return Verdict(NOT_A_REFERENCE, f"a logger's name (`{run.callee}(...)`), not a table")
    if run.bracket == "(" and run.callee in _RESPONSE_CHECKS and run.argument == 1 and not run.keyword:
        return Verdict(NOT_A_REFERENCE, _COMPARED)  # the text of a web page (SQL text there stays SQL)
    if (
        run.bracket == "("
        and run.callee in _PAYLOAD_METHODS
        and run.owner in _KEYWORD_DICTS
        and run.argument == 0
        and not run.keyword
    ):
        return Verdict(NOT_A_REFERENCE, f"the name of a keyword argument (`{run.owner}.{run.callee}(...)`)")
    if run.keyword in _ROUTE_KEYWORDS and run.bracket == "(":
        return Verdict(NOT_A_REFERENCE, f"a route's endpoint name (`{run.keyword}=`), not a table")
    if run.keyword in _COLUMN_KEYWORDS:
        return Verdict(NOT_A_REFERENCE, f"a column name (`{run.keyword}=`), not a table")
    if run.bracket == "(" and run.callee in _KEY_METHODS and run.argument == 0 and not run.keyword:
        return Verdict(NOT_A_REFERENCE, f"a mapping key (`.{run.callee}(...)`)")
    if (
        run.bracket == "("
        and run.callee in _PAYLOAD_METHODS
        and (run.owner in _PAYLOAD_OWNERS or (run.owner in _REQUEST_PARTS and run.parent in _REQUESTS))
        and run.argument == 0
        and not run.keyword
    ):
        return Verdict(
            NOT_A_REFERENCE, f"a key of request, form or model data (`{run.owner}.{run.callee}(...)`)"
        )
    if run.keyword in _ATTRIBUTE_KEYWORDS:
        return Verdict(NOT_A_REFERENCE, f"a Python attribute name (`{run.keyword}=`), not a table")
    if run.bracket == "(" and (run.callee in MESSAGE_CALLS or MESSAGE_CLASS.fullmatch(run.callee)):
        return Verdict(NOT_A_REFERENCE, f"a log, print or exception message (`{run.callee}(...)`)")
    if run.message and run.bracket in ("[", "{", "(") and not (run.bracket == "(" and run.callee):
        return Verdict(NOT_A_REFERENCE, f"data of a log, print or exception message (`{run.message}(...)`)")
    return None


# calls whose positional arguments are the components of a file path
_PATH_BUILDERS = frozenset({"joinpath", "Path", "PurePath", "PosixPath", "PurePosixPath", "WindowsPath"})


def _is_path_call(run: _StringRun) -> bool:
    """`os.path.join(root, "x")`, `posixpath.join(...)`, `Path(root, "x")`, `root.joinpath("x")`."""
    if run.callee == "join":
        return run.owner in ("path", "posixpath", "ntpath")
    return run.callee in _PATH_BUILDERS


def classify_string(
    token: str, at: int, length: int, is_legacy: LegacyTest, columns: Columns | None = None
) -> Verdict:
    """Classify one occurrence inside a string token by the text around it."""
    body_start = _body_start(token)
    is_fstring = "f" in token[:body_start].lower()
    body = token[body_start : len(token) - (3 if token.endswith(('"""', "'''")) and len(token) >= 6 else 1)]
    local = at - body_start
    if is_fstring and _inside_braces(body, local):
        return Verdict(NOT_A_REFERENCE, "a Python expression inside an f-string")
    if _FORMAT_FIELD.match(body, local - 1) and _inside_braces(body, local):
        # `"{ledger.owner.name} left"`: a str.format replacement field reads a Python attribute
        return Verdict(NOT_A_REFERENCE, "a Python attribute read in a format field (`{name.attr}`)")
    # an escaped quote (`\"name\"`) is a quote to SQL: the backslash is blanked, offsets kept
    sql = body.replace('\\"', ' "').replace("\\'", " '") if "r" not in token[:body_start].lower() else body
    reason = sql_word_reason(sql, local)
    other = other_relation(sql, local, local + length, is_legacy) if reason == REFERENCE else None
    if other is not None:
        return Verdict(NOT_A_REFERENCE, f"in SQL text: {other}")
    if reason == REFERENCE:
        return Verdict(UNCLASSIFIED, _SQL_TEXT)
    if reason == NAME_VALUE:
        return Verdict(UNCLASSIFIED, f"in SQL text: {reason}")
    if reason is not None:
        return Verdict(NOT_A_REFERENCE, f"in SQL text: {reason}")
    before, after = body[:local], body[local + length :]
    if "://" in body or before.endswith("/") or after.startswith("/"):
        return Verdict(NOT_A_REFERENCE, "a URL or file path")
    if _FILE_NAME.fullmatch(body):
        return Verdict(NOT_A_REFERENCE, "a file name")
    dotted = _dotted_name(body, before, body[local : local + length].lower(), is_legacy, columns)
    if dotted is not None:
        return dotted
    if _RELATIVE_MODULE.fullmatch(body):
        return Verdict(NOT_A_REFERENCE, "a relative Python module path, not SQL")
    # `for new users. Use it ...`: a sentence ends there, no column follows
    qualified = _QUALIFIER_AFTER.match(after) is not None and _SENTENCE_END.match(after) is None
    if (
        qualified
        and not _FILE_SUFFIX.match(after)
        and (SQL_BESIDE_QUALIFIER.search(body) or SQL_CAPITALS_BESIDE_QUALIFIER.search(body))
    ):
        return Verdict(SQL_FRAGMENT, _SQL_FRAGMENT)
    if qualified or _TABLE_KEYWORD_BEFORE.search(before):
        return Verdict(UNCLASSIFIED, _SQL_SHAPED)
    if (STATEMENT_TEXT.match(body) or _BLOCK_START.match(body)) and _CLAUSE_WORD.search(body):
        # a statement the SQL parser could not read (another dialect's block, `BEGIN EXECUTE IMMEDIATE
        # '...'`): never prose; an alias it gives (`... AS t`, `JOIN other t`) is no relation
        if _ALIAS_BEFORE.search(before):
            return Verdict(NOT_A_REFERENCE, "an alias in SQL the parser could not read")
        if before[-1:] in (":", "@"):
            return Verdict(NOT_A_REFERENCE, "a bind parameter in SQL the parser could not read")
        if _COLUMN_TYPE_AFTER.match(after) or (
            before.rstrip().endswith("(") and after.lstrip()[:1] in (")", ",")
        ):
            return Verdict(
                NOT_A_REFERENCE, "a column (its type, or a list of columns) in SQL the parser could not read"
            )
        return Verdict(UNCLASSIFIED, _SQL_SHAPED)
    if len(body.split()) >= 2:
        return Verdict(NOT_A_REFERENCE, "prose text, not SQL")
    if _TABLE_COLUMN_KEY.fullmatch(body[local:]) and before in ("", "-"):
        # `favorites-created_at`, `-query_results-runtime`: a table and a column, as sort keys name them
        return Verdict(UNCLASSIFIED, "a `table-column` pair (a sort or filter key) that may name the table")
    if before[-1:] in (":", "-", "@", "#", "=") or after[:1] in (":", "-", "@", "#"):
        return Verdict(NOT_A_REFERENCE, "a key or label, not SQL")
    return Verdict(UNCLASSIFIED, _BARE_NAME)


_BARE_NAME = "a string that holds the name but reaches no analysed SQL or table argument"


def _dotted_name(
    body: str, before: str, name: str, is_legacy: LegacyTest, columns: Columns | None
) -> Verdict | None:
    """A string that is only a dotted name: four names or more are a Python path (SQL qualifies a column by
    schema and table at most); with a name before the legacy one that is not its schema (`pkg.tags`,
    `admin.journals.list`, `admin.project.journals`), it is never this view; `legacy.word` where the
    scanned code gives every column of the table and `word` is none of them is no column qualifier (a web
    route's endpoint `journals.list_all`, an action `journals.create`). None: it may be SQL."""
    if not _DOTTED_NAME.fullmatch(body):
        return None
    parts = body.count(".") + 1
    if parts >= 4:
        return Verdict(NOT_A_REFERENCE, "a Python dotted path (a module, class or patch target), not SQL")
    schema = before.rstrip(".").rsplit(".", 1)[-1]
    if not before and parts == 2 and columns and name in columns:
        word = body[len(name) + 1 :].lower()
        if not _is_column(word, columns[name]):
            return Verdict(
                NOT_A_REFERENCE,
                f"a dotted name, not a column qualifier: the scanned code defines every column of `{name}` "
                f"(its models and Table() calls), and `{word}` is none of them",
            )
    if not before or is_legacy(schema.lower(), name):
        return None
    if parts == 2:  # `pkg.tags`: a module path, or a relation of another schema; never this one
        return Verdict(NOT_A_REFERENCE, f"a dotted name under `{schema}`, not the legacy view's schema")
    return Verdict(
        NOT_A_REFERENCE, f"a dotted name under `{schema}`: as SQL, a relation of another schema, not the view"
    )


def _is_column(word: str, known: Sequence[str]) -> bool:
    """`word` is one of the columns, or Django's column of a foreign key (`author_id` for `author`)."""
    return word in known or (word.endswith("_id") and word[: -len("_id")] in known)


def _body_start(token: str) -> int:
    i = 0
    while i < len(token) and token[i] not in "'\"":
        i += 1
    return i + (3 if token[i : i + 3] in ('"""', "'''") else 1)


def _inside_braces(body: str, at: int) -> bool:
    depth = 0
    i = 0
    while i < at:
        if body.startswith("{{", i) or body.startswith("}}", i):
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(body[i], 0)
        i += 1
    return depth > 0
