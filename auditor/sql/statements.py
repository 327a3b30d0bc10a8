"""SQL text as statements: split at top-level semicolons; quotes, comments and bodies found by a small
lexer (no parser), so that the cheap questions about a text never load sqlglot."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Statement:
    start: int  # offset of the statement's first token in the split text
    text: str  # without the terminating semicolon

    @property
    def end(self) -> int:
        return self.start + len(self.text)


_LEXEME = re.compile(
    r"--[^\n]*|/\*|'|\"|(?<![\w$])\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$|;|(?i:\b(?:begin\s+atomic|case|end)\b)"
)


def _skip_quoted(sql: str, pos: int, lexeme: str) -> tuple[int, bool]:
    """(offset just after the quoted/commented lexeme at ``pos``, whether it is terminated)."""
    n = len(sql)
    if lexeme == "/*":
        depth, i = 1, pos + 2
        while depth and i < n:
            if sql.startswith("/*", i):
                depth, i = depth + 1, i + 2
            elif sql.startswith("*/", i):
                depth, i = depth - 1, i + 2
            else:
                i += 1
        return i, depth == 0
    if lexeme.startswith("$"):
        close = sql.find(lexeme, pos + len(lexeme))
        return (n, False) if close < 0 else (close + len(lexeme), True)
    escapes = lexeme == "'" and pos > 0 and sql[pos - 1] in "eE" and (pos < 2 or not _is_word(sql[pos - 2]))
    i = pos + 1
    while i < n:
        ch = sql[i]
        if escapes and ch == "\\":
            i += 2
        elif ch == lexeme:
            if i + 1 < n and sql[i + 1] == lexeme:
                i += 2
            else:
                return i + 1, True
        else:
            i += 1
    return n, False


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


def _lexemes(sql: str, pos: int = 0) -> Iterator[tuple[str, int, int, bool]]:
    """Yield (lexeme, start, end, terminated) for comments, quoted text, semicolons and the words
    BEGIN ATOMIC / CASE / END."""
    while True:
        match = _LEXEME.search(sql, pos)
        if match is None:
            return
        lexeme, start = match.group(0), match.start()
        if lexeme.startswith("--") or lexeme == ";" or lexeme[0].isalpha():
            end, terminated = match.end(), True
        else:
            end, terminated = _skip_quoted(sql, start, lexeme)
        yield lexeme, start, end, terminated
        pos = end


def split_statements(sql: str) -> list[Statement]:
    """Split at top-level semicolons; quotes, comments, dollar bodies and BEGIN ATOMIC bodies stay whole;
    the data rows of a psql `COPY ... FROM stdin;` (pg_dump's format) are no statement."""
    return _split(sql)[0]


def copy_data_ranges(sql: str) -> list[tuple[int, int]]:
    """(start, end) of each block of `COPY ... FROM stdin` data rows, up to and with the `\\.` line."""
    return _split(sql)[1]


_COPY_FROM_STDIN = re.compile(r"copy\b[^;]*\bfrom\s+stdin\b", re.IGNORECASE)
_END_OF_DATA = re.compile(r"^\\\.[ \t]*\r?$", re.MULTILINE)


@functools.lru_cache(maxsize=64)
def _split(sql: str) -> tuple[list[Statement], list[tuple[int, int]]]:
    statements: list[Statement] = []
    data: list[tuple[int, int]] = []
    begin, atomic, resume = 0, 0, 0
    while resume is not None:
        lexemes, resume = _lexemes(sql, resume), None
        for lexeme, start, end, _ in lexemes:
            if lexeme == ";":
                if atomic:
                    continue
                added = _add_statement(sql, begin, start, statements)
                begin = end
                if added and _COPY_FROM_STDIN.match(statements[-1].text):
                    # psql reads the rows from the next line up to a line `\.`: data, not SQL
                    line_end = sql.find("\n", end)
                    rows = len(sql) if line_end < 0 else line_end + 1
                    marker = _END_OF_DATA.search(sql, rows)
                    begin = resume = marker.end() if marker is not None else len(sql)
                    data.append((rows, begin))
                    break
            elif lexeme[0].isalpha():
                word = lexeme[:3].lower()
                if word == "beg" or (atomic and word == "cas"):
                    atomic += 1
                elif atomic and word == "end":
                    atomic -= 1
    _add_statement(sql, begin, len(sql), statements)
    return statements, data


# whitespace, comments and psql meta-commands (\\connect ...) before a statement
_LEADING = re.compile(r"(?:\s+|--[^\n]*|/\*(?:[^*]|\*(?!/))*\*/|\\[^\n]*)*")


def _add_statement(sql: str, begin: int, end: int, out: list[Statement]) -> bool:
    begin = _LEADING.match(sql, begin, end).end()  # type: ignore[union-attr]
    text = sql[begin:end].rstrip()
    if text:
        out.append(Statement(begin, text))
    return bool(text)


UNTERMINATED = "an unterminated quote, comment or body"
# a quoted value that is itself a statement (a string literal's text, from its first character)
STATEMENT_TEXT = re.compile(
    r"\s*\(*\s*(?:select|insert|update|delete|with|truncate|copy|merge|create|alter|drop|grant|revoke)\s",
    re.IGNORECASE,
)


def is_terminated(text: str) -> bool:
    """Every quote, comment and dollar body in ``text`` ends."""
    return all(terminated for *_, terminated in _lexemes(text))


def blank_unterminated(text: str) -> str:
    """Blank an unterminated quote/comment tail (same length) so the tokenizer accepts partial SQL."""
    for _, start, _, terminated in _lexemes(text):
        if not terminated:
            return text[:start] + " " * (len(text) - start)
    return text


def quoted_ranges(text: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of each comment ("comment"), quoted value ("string") and dollar-quoted body
    ("body") in SQL ``text``."""
    for lexeme, start, end, _ in _lexemes(text):
        if lexeme.startswith("--") or lexeme == "/*":
            yield "comment", start, end
        elif lexeme == "'":
            yield "string", start, end
        elif lexeme.startswith("$"):
            yield "body", start, end
