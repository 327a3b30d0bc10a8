"""The string tokens of one Python string expression, with the parts of each f-string.

CPython's ast merges an implicit concatenation (`"a" f"b{x}"`) into one node and keeps no source
positions for the literal parts of an f-string. This scanner reads the source of that one expression
(which the parser already accepted) and gives each token's prefix, quote and extent, and, for an
f-string, its literal text parts and `{...}` replacement fields, all as offsets into the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = re.compile(r"[A-Za-z]{0,3}(?='|\")")
_GAP = re.compile(r"(?:[ \t\f\r\n]+|\\\r?\n|#[^\n]*)*")
# where an f-string's literal text may stop: a brace, an escape, or the quote character
_FSTRING_STOPS = {q: re.compile(r"[{}\\" + q[0] + "]") for q in ("'", '"', "'''", '"""')}
# inside a replacement field: brackets, strings, comments, and the ':' that starts a format spec
_FIELD_STOPS = re.compile(r"[{}()\[\]'\"#:!]")
_SPEC_STOPS = re.compile(r"[{}]")


class StringScanError(ValueError):
    """The text is not the string expression the parser reported (a bug, never bad input)."""


@dataclass(frozen=True, slots=True)
class StringToken:
    start: int  # offset of the prefix (or the opening quote)
    end: int  # offset after the closing quote
    prefix: str
    quote: str  # ', ", ''' or """
    is_f: bool
    # f-strings: ("text", start, end) for literal text, ("field", start, end) for `{...}`
    parts: tuple[tuple[str, int, int], ...] = field(default=())


def scan_strings(source: str, start: int, end: int) -> list[StringToken]:
    """Every string token between ``start`` and ``end`` (an ast string node's extent)."""
    tokens: list[StringToken] = []
    at = start
    while at < end:
        token = scan_token(source, at)
        tokens.append(token)
        at = _GAP.match(source, token.end).end()  # type: ignore[union-attr]
    if not tokens:
        raise StringScanError(f"no string token at offset {start}")
    return tokens


def scan_token(source: str, at: int) -> StringToken:
    found = _PREFIX.match(source, at)
    if found is None:
        raise StringScanError(f"no string token at offset {at}")
    prefix = found.group()
    quote_at = found.end()
    char = source[quote_at]
    quote = char * 3 if source.startswith(char * 3, quote_at) else char
    body = quote_at + len(quote)
    is_f = "f" in prefix.lower()
    if not is_f:
        return StringToken(at, _close(source, body, quote), prefix, quote, False)
    parts: list[tuple[str, int, int]] = []
    close = _fstring_body(source, body, quote, "r" in prefix.lower(), parts)
    return StringToken(at, close + len(quote), prefix, quote, True, tuple(parts))


def _close(source: str, at: int, quote: str) -> int:
    """The offset after the quote that closes a plain string whose body starts at ``at``."""
    while True:
        found = source.find(quote, at)
        if found < 0:
            raise StringScanError(f"unterminated string at offset {at}")
        backslashes = 0
        while source[found - 1 - backslashes] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return found + len(quote)
        at = found + 1


def _next_stop(stops: re.Pattern[str], source: str, at: int, what: str) -> int:
    found = stops.search(source, at)
    if found is None:
        raise StringScanError(f"unterminated {what} at offset {at}")
    return found.start()


def _fstring_body(source: str, at: int, quote: str, raw: bool, parts: list[tuple[str, int, int]]) -> int:
    """Collect the parts of an f-string body; return the offset of its closing quote."""
    stops = _FSTRING_STOPS[quote]
    text_start = at
    while True:
        j = _next_stop(stops, source, at, "f-string")
        char = source[j]
        if char == "\\":
            if not raw and source.startswith("N{", j + 1):
                close = source.find("}", j)
                at = close + 1 if close > 0 else j + 2
            else:
                at = j + 1 if source[j + 1 : j + 2] in ("{", "}") else j + 2
        elif char == quote[0]:
            if source.startswith(quote, j):
                if text_start < j:
                    parts.append(("text", text_start, j))
                return j
            at = j + 1
        elif source[j + 1 : j + 2] == char:  # "{{" or "}}": a literal brace
            at = j + 2
        elif char == "{":
            if text_start < j:
                parts.append(("text", text_start, j))
            at = text_start = _field_end(source, j + 1)
            parts.append(("field", j, at))
        else:
            raise StringScanError(f"single '}}' in f-string at offset {j}")


def _field_end(source: str, at: int) -> int:
    """The offset after the `}` that closes a replacement field whose expression starts at ``at``."""
    depth = 0
    while True:
        j = _next_stop(_FIELD_STOPS, source, at, "replacement field")
        char = source[j]
        if char in "([{":
            depth += 1
            at = j + 1
        elif char in ")]}":
            if depth == 0:
                if char != "}":
                    raise StringScanError(f"unbalanced {char!r} at offset {j}")
                return j + 1
            depth -= 1
            at = j + 1
        elif char in "'\"":
            start = j
            while start > j - 3 and source[start - 1] in "rRbBfFuU":
                start -= 1
            at = scan_token(source, start).end
        elif char == "#":
            newline = source.find("\n", j)
            at = newline + 1 if newline >= 0 else len(source)
        elif char == ":" and depth == 0:
            return _spec_end(source, j + 1)
        else:  # "!" of a conversion or of "!=", ":" inside brackets
            at = j + 1


def _spec_end(source: str, at: int) -> int:
    """The offset after the `}` that closes a format spec (which may hold nested fields)."""
    while True:
        j = _next_stop(_SPEC_STOPS, source, at, "format spec")
        if source[j] == "}":
            return j + 1
        at = _field_end(source, j + 1)
