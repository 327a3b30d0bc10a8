"""The post-pass over code in JavaScript's family (JavaScript, TypeScript, Vue, Svelte, Astro), which the
scan does not analyse: each occurrence of a legacy name gets a verdict from where it stands.

A small lexer finds comments (and the HTML comments of Vue, Svelte and Astro templates), string and
template literals and identifiers. JavaScript code reaches a
table by its name as a string (supabase-js `.from("orders")`, knex, Kysely, Drizzle's `pgTable("orders")`,
TypeORM's `@Entity("orders")`, SQL in a template literal); a bare identifier is a variable, a property or
a type (`orders.length`, `detail.orders.id`), and a comment is prose. So:

- the whole string that is the first argument of a table call is a reference: supabase-js `.from("orders")`
  (unless on the client's Storage, `supabase.storage.from("avatars")`: a bucket), Kysely's
  `.selectFrom()`/`.insertInto()`/`.updateTable()`/`.deleteFrom()`, Drizzle's `pgTable()`/`pgView()`,
  TypeORM's `@Entity("orders")`;
- a string is classified by its text as Python strings are (prose, CSS classes, a URL, SQL-shaped text),
  except that a name followed by `(` or `!` stays unclassified (a PostgREST embedded resource,
  `select("*, orders(*)")`);
- a class declaration's name stays unclassified (an ORM entity's default table name);
- a Vue component's bound attribute (`:items="items"`, `v-if="orders.length"`) is read as JavaScript;
- any other identifier, and a comment, is not a reference, with that reason.

Prisma's models name their tables in `schema.prisma`, which is listed with the other languages, so a
`prisma.orders` identifier never leaves a view unheld.

The lexer does not tell a regular expression literal from a division: a quote inside one may make the
rest of its line read as a string (then classified by its text, never dropped as an identifier).
"""

from __future__ import annotations

import re

from auditor.core.model import Confidence, Finding, Span
from auditor.core.source import LineIndex
from auditor.python.mentions import classify_string
from auditor.sql.mentions import NOT_A_REFERENCE, UNCLASSIFIED, LegacyTest, Verdict

CLIENT_TABLE = "the table argument of "  # + the call, in a verdict the post-pass makes a reference (LR004)
# calls whose first argument, a string written whole, is a table: supabase-js `.from()`, Kysely's query
# builders, Drizzle's table and view definitions, TypeORM's `@Entity("name")`
# the query builders' methods whose first argument is the table: supabase-js, Kysely
_TABLE_METHODS = ("from", "selectFrom", "insertInto", "updateTable", "deleteFrom", "mergeInto")
_TABLE_CALL = re.compile(
    rf"""(?:(?P<storage>\bstorage\s*)?\.(?P<method>{"|".join(_TABLE_METHODS)})"""
    r"""|(?P<function>(?<![\w$])(?:pgTable|pgView|pgMaterializedView)|@Entity))\(\s*\Z"""
)
_BUCKET = Verdict(NOT_A_REFERENCE, "a Supabase Storage bucket (`storage.from(...)`), not a table")
# possessive repeats: a lazy or backtracking repeat keeps state for every character it crosses (a 441 KB
# comment in a bundle cost 77 MB)
_TOKEN = re.compile(
    r"""(?P<comment>//[^\n]*+|/\*(?:[^*]|\*(?!/))*+(?:\*/|\Z)|<!--(?:[^-]|-(?!->))*+(?:-->|\Z))"""
    r"""|(?P<string>'(?:[^'\\\n]|\\.)*+'|"(?:[^"\\\n]|\\.)*+"|`(?:[^`\\]|\\.)*+(?:`|\Z))"""
    r"""|(?P<word>[A-Za-z_$][\w$]*+)""",
    re.DOTALL,
)
_COMMENT = Verdict(NOT_A_REFERENCE, "a comment in JavaScript-family code")


def javascript_comments(text: str) -> list[tuple[int, str]]:
    """The comments of JavaScript-family code (and of languages that write theirs the same way: Go, Java,
    Rust, ...) as (offset, text): `//` to the end of the line, `/* */` and HTML comments whole."""
    return [(m.start(), m.group()) for m in _TOKEN.finditer(text) if m.lastgroup == "comment"]


_IDENTIFIER = Verdict(
    NOT_A_REFERENCE,
    "a JavaScript identifier (a variable, a property or a type): JavaScript code names a table in a string",
)
_IN_EXPRESSION = Verdict(NOT_A_REFERENCE, "a JavaScript expression inside a template literal (`${...}`)")
_CLASS = Verdict(UNCLASSIFIED, "a class name in JavaScript-family code (an ORM entity's default table name)")
_EMBEDDED = Verdict(UNCLASSIFIED, "a name called or embedded in a string (a PostgREST embedded resource)")
_CLASS_BEFORE = re.compile(r"\bclass\s+\Z")
# a Vue attribute whose value is JavaScript: `:prop=`, `v-if=`, `v-model=`, `@event=` (in .vue files only: a
# TypeScript class's private field, `#table = "orders"`, holds a string)
_BOUND_ATTRIBUTE = re.compile(r"(?:^|\s)(?::|@|v-)[\w.:\-\[\]]*\s*=\s*\Z")


def classify_javascript(
    text: str, occurrences: list[tuple[int, int]], is_legacy: LegacyTest, vue: bool = False
) -> dict[int, Verdict]:
    """A verdict for each (start, end) occurrence, keyed by start offset (``vue``: a Vue component, whose
    bound attributes hold JavaScript). The tokens are read in one pass beside the sorted occurrences, up to
    the last of them (a generated bundle is not held as tokens)."""
    verdicts: dict[int, Verdict] = {}
    pending = sorted(occurrences)
    index = 0
    for match in _TOKEN.finditer(text):
        while index < len(pending) and pending[index][0] < match.start():
            start, end = pending[index]  # between tokens: punctuation, markup
            verdicts[start] = _verdict(text, start, end, None, is_legacy, vue)
            index += 1
        while index < len(pending) and pending[index][0] < match.end():
            start, end = pending[index]
            token = (match.start(), match.end(), match.lastgroup or "") if end <= match.end() else None
            verdicts[start] = _verdict(text, start, end, token, is_legacy, vue)
            index += 1
        if index == len(pending):
            break
    for start, end in pending[index:]:
        verdicts[start] = _verdict(text, start, end, None, is_legacy, vue)
    return verdicts


def _verdict(
    text: str, start: int, end: int, token: tuple[int, int, str] | None, is_legacy: LegacyTest, vue: bool
) -> Verdict:
    if token is None:
        return Verdict(UNCLASSIFIED, "in JavaScript-family code the lexer did not read")
    token_start, token_end, kind = token
    if kind == "comment":
        return _COMMENT
    if kind == "word":
        return _CLASS if _CLASS_BEFORE.search(text, max(0, token_start - 40), token_start) else _IDENTIFIER
    literal = text[token_start:token_end]
    local = start - token_start
    if literal.startswith("`") and _inside_expression(literal, local):
        return _IN_EXPRESSION
    bound = vue and _BOUND_ATTRIBUTE.search(text, max(0, token_start - 80), token_start) is not None
    if bound and literal[-1:] == literal[:1] and len(literal) > 1:
        # a Vue binding (`:items="items"`, `v-if="orders.length"`, `@click=...`): a JavaScript expression
        inner = literal[1:-1]
        return classify_javascript(inner, [(local - 1, local - 1 + end - start)], is_legacy)[local - 1]
    call = _TABLE_CALL.search(text, max(0, token_start - 60), token_start) if local == 1 else None
    if call is not None and end == token_end - 1:  # the whole string, the call's first argument
        if call.group("storage"):
            return _BUCKET  # `supabase.storage.from("avatars")`: a Storage bucket, whatever its name
        name = f".{call.group('method')}()" if call.group("method") else f"{call.group('function')}()"
        return Verdict(UNCLASSIFIED, CLIENT_TABLE + f"`{name}`")  # the post-pass makes it LR004
    after = text[end:token_end].lstrip()
    if after[:1] in ("(", "!"):
        return _EMBEDDED
    quote = literal[0]
    body = literal[1:-1] if literal.endswith(quote) and len(literal) > 1 else literal[1:]
    if quote == "`":  # read as a Python string of the same text (same length: offsets hold)
        body = body.replace('"', "'")
    return classify_string(f'"{body}"', local, end - start, is_legacy)


CLIENT_LANGUAGES = frozenset({"JavaScript", "TypeScript", "Vue", "Svelte", "Astro"})


def client_table_calls(language: str, data: bytes) -> tuple[tuple[int, int, str, str], ...]:
    """`dynamic_table_calls` of a file in the JavaScript family (none for any other language)."""
    return dynamic_table_calls(data) if language in CLIENT_LANGUAGES else ()


def unresolved_client_tables(
    path: str, language: str, calls: tuple[tuple[int, int, str, str], ...]
) -> list[Finding]:
    """An LR005 for each table call of a web client whose table is not written as a string: nobody follows
    JavaScript's values, so the table may be a legacy view (low confidence, as for Python)."""
    return [
        Finding(
            rule="LR005",
            path=path,
            span=Span(line, column, line, column + len(argument)),
            legacy=None,
            target=None,
            block=f"{path}:<occurrence>",
            confidence=Confidence.LOW,
            message=f"table name in {call} comes from `{argument}` in a {language} file, whose values the "
            "scan does not follow; the analyzer cannot prove it is not a legacy name.",
            snippet="",
        )
        for line, column, call, argument in calls
    ]


def dynamic_table_calls(data: bytes) -> tuple[tuple[int, int, str, str], ...]:
    """The table calls whose table is not written as a string: `supabase.from(table)`, Kysely's
    `.selectFrom(name)`, a template literal with a hole (`.from(`${prefix}_rows`)`), as (line, column, the
    call, the argument's text), 1-based. Not: a call on a class (`Array.from(x)`), on `this`, on the
    client's Storage (a bucket), in a comment or a string, nor on a minified line (a library's own code)."""
    if not any(needle in data for needle in _CALL_NEEDLES):
        return ()
    text = data.decode("utf-8", "replace")
    if len(text) > _GENERATED_AVERAGE * (text.count("\n") + 1):
        return ()  # a bundle: its sources are scanned, its vendored clients would only add noise
    found: list[tuple[int, int, str, str]] = []
    previous: re.Match[str] | None = None
    lines = LineIndex(text)  # positions by bisection: a generated file may hold 100,000 calls
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "word" and match.group() in _TABLE_METHODS:
            call = _dynamic_call(text, lines, match, previous)
            if call is not None:
                found.append(call)
        previous = match
    return tuple(found)


def _dynamic_call(
    text: str, lines: LineIndex, method: re.Match[str], previous: re.Match[str] | None
) -> tuple[int, int, str, str] | None:
    """The table call at ``method`` (a word token of _TABLE_METHODS) when its table is not a string."""
    between = "".join(text[previous.end() if previous else 0 : method.start()].split())
    # a client is an object (`supabase`, `db`): `Array.from(x)`, `Fragment.from(x)` are a class's factories,
    # `this.from(x)` a library's own method, `storage.from(x)` a Storage bucket; of a call's result,
    # supabase-js's `.schema("sales").from(t)` (not `moment().from(date)`)
    if between == ".":
        receiver = previous.group() if previous is not None and previous.lastgroup == "word" else ""
        if not receiver[:1].islower() or receiver in ("this", "storage"):
            return None
    elif not between.endswith(").") or not _SCHEMA_CALL.search(
        text, max(0, method.start() - 200), method.start()
    ):
        return None
    argument = _ARGUMENT.match(text, method.end())
    if argument is None:
        return None
    value, at = argument.group("value"), argument.start("value")
    line, column = lines.position(at)
    starts = lines.starts
    line_end = starts[line] - 1 if line < len(starts) else len(text)
    if line_end - starts[line - 1] > _MINIFIED_LINE:
        return None  # a minified line: a library's own code
    if value.startswith("`") and "${" not in value:
        return None  # a template literal without a hole is a string
    return line, column, f"`.{method.group()}()`", value.splitlines()[0][:80]


_SCHEMA_CALL = re.compile(r"\.\s*schema\s*\((?:[^()]|\([^()]*\))*\)\s*\.\s*\Z")
_CALL_NEEDLES = (b".from(", b".from<", b"From(", b"From<", b"Into(", b"Into<", b"updateTable")
# the first argument, when it is a name, a property, or a template literal (a string or a number is not);
# TypeScript may give the call a type argument first (`.from<Row>(table)`)
_ARGUMENT = re.compile(
    r"(?:\s*<[^<>()]{0,200}(?:<[^<>()]{0,200}>[^<>()]{0,200}){0,8}>)?"
    r"\(\s*(?P<value>[A-Za-z_$][\w$]*(?:\s*(?:\?\.|\.)\s*[A-Za-z_$][\w$]*)*|`(?:[^`\\]|\\.)*+`)"
)
_MINIFIED_LINE = 500  # characters in a line: generated code
_GENERATED_AVERAGE = 200  # characters per line, on average: a bundle (hand-written code averages about 40)


def _inside_expression(literal: str, at: int) -> bool:
    """Is offset ``at`` of a template literal inside one of its `${...}` expressions?"""
    depth = 0
    index = 1
    while index < at:
        char = literal[index]
        if char == "\\":
            index += 2
            continue
        if depth == 0 and literal.startswith("${", index):
            depth, index = 1, index + 2
            continue
        if depth:
            depth += 1 if char == "{" else -1 if char == "}" else 0
        index += 1
    return depth > 0
