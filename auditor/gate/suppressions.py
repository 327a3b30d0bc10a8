"""Suppression comments: ``# audit: ignore[LR001] reason`` (Python), ``-- audit: ignore[LR101] reason`` (SQL),
``// audit: ignore[LR006] reason`` (JavaScript and the other languages the scan lists without analysing).

A suppression silences the findings of the codes it names on its own line. It must name at least one
known rule code and give a reason; one that does not, or that silences nothing, is reported as an
LR900 finding and silences nothing itself. Only real comments count: a Python comment is found with
``tokenize`` and a SQL comment is a ``--`` comment outside string literals and quoted identifiers.

In Python a comment on the last line of a multi-line string also covers the string's other lines, so
a triple-quoted query is suppressed by a comment after its closing quotes. In SQL the body of a
dollar-quoted function is scanned as SQL, so a comment inside a PL/pgSQL body counts too. In the other
languages a comment is found by its language's comment style (`discover/languages.py`): `//` and `/* */`
outside strings (JavaScript's lexer), a `#` that starts a word outside quotes (shell, Ruby, YAML), or
SQL's `--`; a notebook and a simplate have none the scan reads.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from auditor.core.model import Confidence, Diagnostic, Finding, Span
from auditor.core.rules import RULES
from auditor.core.source import decode_python, decode_sql, read_bytes
from auditor.discover.languages import COMMENT_STYLES, language_of, script_language

INVALID_SUPPRESSION = "LR900"
SUPPRESSION_BLOCK = "<suppression>"
_MAX_BYTES = 1 << 30
# the mark at the start of a comment, or of a later comment part (`# audit: ignore[...]`)
_PYTHON_MARK = re.compile(r"#\s*audit: ignore(?![\w-])(?P<rest>.*)\Z", re.DOTALL)
_SQL_MARK = re.compile(r"--\s*audit: ignore(?![\w-])(?P<rest>.*)\Z", re.DOTALL)
# in another language's comment: after its opening (`//`, `/*`, `<!--`, `#`, `--`)
_OTHER_MARK = re.compile(r"(?://|/\*|<!--|#|--)\s*audit: ignore(?![\w-])(?P<rest>[^\n]*)")
_CODES = re.compile(r"\[(?P<codes>[^\]]*)\](?P<reason>.*)\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Suppression:
    """One ``audit: ignore`` comment; ``problem`` is set when it is invalid (and then silences nothing)."""

    path: str
    span: Span  # the comment
    lines: frozenset[int]  # the lines whose findings it may silence
    codes: tuple[str, ...]
    reason: str
    snippet: str  # the source line that holds the comment, stripped
    problem: str | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class SuppressionOutcome:
    kept: tuple[Finding, ...]  # findings no suppression silenced
    suppressed: tuple[Finding, ...]
    invalid: tuple[Finding, ...]  # LR900: malformed suppressions and those that silence nothing


# --- reading ------------------------------------------------------------------------------------------


def load_suppressions(root: str, paths: Iterable[str]) -> tuple[list[Suppression], list[Diagnostic]]:
    """The suppressions of the given files (relative to ``root``); unreadable files become diagnostics."""
    suppressions: list[Suppression] = []
    diagnostics: list[Diagnostic] = []
    for path in sorted(set(paths)):
        language = _LANGUAGES.get(os.path.splitext(path)[1].lower())
        if language is None and language_of(path, os.path.join(root, path)) in COMMENT_STYLES:
            language = (decode_sql, other_suppressions)
        if language is None:
            continue
        decode, parse = language
        data = read_bytes(os.path.join(root, path), path, _MAX_BYTES)
        text = data if isinstance(data, Diagnostic) else decode(data, path)
        if isinstance(text, Diagnostic):
            diagnostics.append(text)
            continue
        suppressions.extend(parse(path, text))
    return suppressions, diagnostics


def python_suppressions(path: str, text: str) -> list[Suppression]:
    """Suppression comments of Python source, found with ``tokenize`` (strings are not comments)."""
    lines = text.split("\n")
    comments: list[tuple[int, int, str]] = []  # (line, 0-based column, comment text)
    string_ranges: dict[int, set[int]] = {}  # last line of a multi-line string -> all its lines
    fstring_starts: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, start, end = token.type, token.start[0], token.end[0]
            if kind == tokenize.COMMENT:
                comments.append((start, token.start[1], token.string.rstrip()))
            elif kind == tokenize.STRING and end > start:
                string_ranges.setdefault(end, set()).update(range(start, end + 1))
            elif kind == _FSTRING_START:
                fstring_starts.append(start)
            elif kind == _FSTRING_END and fstring_starts:
                first = fstring_starts.pop()
                if end > first:
                    string_ranges.setdefault(end, set()).update(range(first, end + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # keep the comments before the error; the scan reports the syntax error itself
    found = []
    for line, column, comment in comments:
        match = _PYTHON_MARK.search(comment)
        if match is None:
            continue
        covered = frozenset({line, *string_ranges.get(line, ())})
        span = Span(line, column + 1, line, column + 1 + len(comment))
        found.append(_suppression(path, span, covered, match.group("rest"), _line(lines, line)))
    return found


def sql_suppressions(path: str, text: str) -> list[Suppression]:
    """Suppression comments of SQL text: ``--`` comments outside literals and quoted identifiers."""
    lines = text.split("\n")
    found = []
    for offset, comment in sql_comments(text):
        match = _SQL_MARK.search(comment)
        if match is None:
            continue
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        span = Span(line, column, line, column + len(comment))
        found.append(_suppression(path, span, frozenset({line}), match.group("rest"), _line(lines, line)))
    return found


def other_suppressions(path: str, text: str) -> list[Suppression]:
    """Suppression comments of a file in a language the scan lists without analysing, by its comment style."""
    language = language_of(path) or script_language(text[:256].encode("utf-8", "replace"), path)
    style = COMMENT_STYLES.get(language)
    if style == "//":
        from auditor.python.javascript import javascript_comments  # its classifier: not for other files

        comments = javascript_comments(text)
    elif style == "#":
        comments = hash_comments(text)
    elif style == "--":
        comments = sql_comments(text)
    else:
        return []
    lines = text.split("\n")
    found = []
    for offset, comment in comments:
        match = _OTHER_MARK.search(comment)
        if match is None:
            continue
        at = offset + match.start()
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        rest = match.group("rest").rstrip()
        for closing in ("*/", "-->"):  # a block comment's end is no part of the reason
            rest = rest.removesuffix(closing).rstrip()
        span = Span(line, column, line, column + len(match.group().rstrip()))
        found.append(_suppression(path, span, frozenset({line}), rest, _line(lines, line)))
    return found


def hash_comments(text: str) -> list[tuple[int, str]]:
    """`#` comments (shell, Ruby, Elixir, YAML) as (offset, text): a `#` at a line's start or after a space
    or a tab, outside the single- and double-quoted strings of its line."""
    comments: list[tuple[int, str]] = []
    start = 0
    for line in text.split("\n"):
        quote, previous, index = "", " ", 0
        while index < len(line):
            char = line[index]
            if quote:
                if char == "\\" and quote == '"':
                    index += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == "#" and previous in " \t":
                comments.append((start + index, line[index:].rstrip()))
                break
            previous = char
            index += 1
        start += len(line) + 1
    return comments


def sql_comments(text: str) -> list[tuple[int, str]]:
    """``--`` comments of SQL text as (offset, text without the newline), skipping single-quoted
    strings (``''`` and, for ``E'...'``, backslash escapes), quoted identifiers and ``/* */`` comments
    (nested, as PostgreSQL does). Dollar quotes are transparent: a function body is SQL too."""
    comments: list[tuple[int, str]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            comments.append((i, text[i:end].rstrip()))
            i = end
        elif char == "'":
            escapes = i > 0 and text[i - 1] in "eE" and (i < 2 or not _identifier_char(text[i - 2]))
            i = _skip_quoted(text, i, "'", escapes)
        elif char == '"':
            i = _skip_quoted(text, i, '"', False)
        elif char == "/" and text.startswith("/*", i):
            i = _skip_block_comment(text, i)
        elif char == "$" and (i == 0 or not _identifier_char(text[i - 1])):
            match = _DOLLAR_TAG.match(text, i)
            i = match.end() if match else i + 1  # the body between the tags is scanned as SQL
        else:
            i += 1
    return comments


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*)?\$")


def _identifier_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _skip_quoted(text: str, start: int, quote: str, backslash: bool) -> int:
    i = start + 1
    while i < len(text):
        char = text[i]
        if backslash and char == "\\":
            i += 2
        elif char == quote:
            if text.startswith(quote * 2, i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return len(text)


def _skip_block_comment(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _line(lines: Sequence[str], number: int) -> str:
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def _suppression(path: str, span: Span, lines: frozenset[int], rest: str, snippet: str) -> Suppression:
    """Parse what follows ``audit: ignore``: ``[CODE, CODE] reason``."""
    match = _CODES.match(rest.lstrip())
    if match is None:
        problem = (
            "`audit: ignore` without a rule code silences nothing; write `audit: ignore[CODE] reason`"
            if "[" not in rest
            else "malformed `audit: ignore[...]`: the code list is not closed; it silences nothing"
        )
        return Suppression(path, span, lines, (), "", snippet, problem)
    codes = tuple(code.strip().upper() for code in match.group("codes").split(",") if code.strip())
    reason = match.group("reason").strip()
    problem = None
    unknown = [code for code in codes if code not in RULES or code == INVALID_SUPPRESSION]
    if not codes:
        problem = "`audit: ignore[]` names no rule code; it silences nothing"
    elif unknown:
        problem = (
            f"`audit: ignore` names an unknown or unsuppressible rule code {unknown[0]}; it silences nothing"
        )
    elif not any(char.isalnum() for char in reason):
        problem = (
            f"`audit: ignore[{', '.join(codes)}]` gives no reason; say why after the codes. "
            "It silences nothing"
        )
    return Suppression(path, span, lines, codes, reason, snippet, problem)


# Python 3.12 tokenizes f-strings into parts; 3.11 returns them as one STRING token.
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)
_Decoder = Callable[[bytes, str], str | Diagnostic]
_Parser = Callable[[str, str], list[Suppression]]
_LANGUAGES: dict[str, tuple[_Decoder, _Parser]] = {
    ".py": (decode_python, python_suppressions),
    ".pyi": (decode_python, python_suppressions),
    ".sql": (decode_sql, sql_suppressions),
}


# --- applying -----------------------------------------------------------------------------------------


def apply_suppressions(
    findings: Sequence[Finding], suppressions: Sequence[Suppression]
) -> SuppressionOutcome:
    """Split ``findings`` into kept and suppressed, and report invalid or useless suppressions (LR900)."""
    by_line: dict[tuple[str, int], list[Suppression]] = {}
    for suppression in suppressions:
        if suppression.valid:
            for line in suppression.lines:
                by_line.setdefault((suppression.path, line), []).append(suppression)
    used: dict[Suppression, set[str]] = {}
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        silencers = [s for s in by_line.get((finding.path, finding.span.line), ()) if finding.rule in s.codes]
        for suppression in silencers:
            used.setdefault(suppression, set()).add(finding.rule)
        (suppressed if silencers else kept).append(finding)
    invalid = []
    for suppression in suppressions:
        if suppression.problem is not None:
            invalid.append(_invalid(suppression, suppression.problem))
            continue
        unused = [code for code in suppression.codes if code not in used.get(suppression, set())]
        if unused:
            codes = ", ".join(unused)
            what = "finding" if len(unused) == 1 else "findings"
            message = f"`audit: ignore[{codes}]` silences nothing: no {codes} {what} on this line"
            invalid.append(_invalid(suppression, message))
    return SuppressionOutcome(tuple(kept), tuple(suppressed), tuple(invalid))


def _invalid(suppression: Suppression, message: str) -> Finding:
    return Finding(
        rule=INVALID_SUPPRESSION,
        path=suppression.path,
        span=suppression.span,
        legacy=None,
        target=None,
        block=f"{suppression.path}:{SUPPRESSION_BLOCK}",
        confidence=Confidence.HIGH,
        message=message,
        snippet=suppression.snippet,
    )
