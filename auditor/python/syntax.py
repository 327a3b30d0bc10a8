"""CPython's parser, for code written for a newer Python than the one running the scan.

A module that uses a newer grammar fails to parse as a whole, and everything in it would go unanalysed.
Where a newer form only changes how something that names no table is written, it is rewritten to an
older form of exactly the same length, so every other position in the file stays as written:

- PEP 758 (Python 3.14): `except A, B:` without parentheses becomes `except ():` padded with spaces (the
  exception classes it names are no table names).
- PEP 695 (Python 3.12): the type parameters of a generic function or class (`def first[T](...)`,
  `class Repository[T: Model](Base):`) become blanks, and a type alias statement (`type Rows = list[Row]`)
  an assignment to a name joined to it (`type_Rows = list[Row]`): type parameters and aliases name types,
  never tables, and the function's or class's body keeps every position.
"""

from __future__ import annotations

import ast
import re
import sys

# `except A, B:` / `except* A, B:` with no parentheses and no `as` (PEP 758 allows neither form with `as`)
_UNPARENTHESIZED_EXCEPT = re.compile(
    r"^(?P<head>[ \t]*except\*?)[ \t]+[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)+[ \t]*,?[ \t]*:", re.M
)


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, and once more with the newer forms rewritten when the first attempt fails on one."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError:
        rewritten = older_grammar(source)
        if rewritten == source:
            raise
        return ast.parse(rewritten, filename=filename)


def older_grammar(source: str) -> str:
    """``source`` with the newer forms this interpreter cannot parse rewritten, every length kept."""
    if sys.version_info >= (3, 14):
        return source
    source = _UNPARENTHESIZED_EXCEPT.sub(_empty_except, source)
    if sys.version_info >= (3, 12):
        return source
    source = _TYPE_ALIAS.sub(lambda m: m.group("head") + "_" * len(m.group("gap")), source)
    return _blank_type_parameters(source)


# `type Rows = ...`, `type Pair[T] = ...` at the start of a statement
_TYPE_ALIAS = re.compile(r"^(?P<head>[ \t]*type)(?P<gap>[ \t]+)(?=[A-Za-z_]\w*[ \t]*[\[=])", re.M)
# `def name[`, `async def name[`, `class Name[`: a generic's type parameter list opens at the bracket
_TYPE_PARAMETERS = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+[A-Za-z_]\w*[ \t]*(?=\[)", re.M)
_PAIRS = {"[": "]", "(": ")", "{": "}"}


def _blank_type_parameters(source: str) -> str:
    """Each generic's `[...]` after its name as blanks (line breaks kept, each ending in a backslash that
    joins the lines as the brackets did); one whose brackets do not close within 2,000 characters is
    left as it is (the file then stays unparsed, as before)."""
    if "[" not in source:
        return source
    chars = list(source)
    for match in _TYPE_PARAMETERS.finditer(source):
        end = _closing(source, match.end())
        if end is not None:
            for at in range(match.end(), end + 1):
                if chars[at] != "\n":
                    chars[at] = " "
                elif at > match.end():  # the brackets joined these lines: a backslash joins them now
                    chars[at - 1] = "\\"
    return "".join(chars)


def _closing(source: str, start: int) -> int | None:
    """The offset of the bracket that closes the one at ``start`` (quotes inside skipped), or None."""
    stack: list[str] = []
    at, limit = start, min(len(source), start + 2000)
    while at < limit:
        char = source[at]
        if char in _PAIRS:
            stack.append(_PAIRS[char])
        elif char in ")]}":
            if not stack or stack.pop() != char:
                return None
            if not stack:
                return at
        elif char in "\"'":
            closing = source.find(char, at + 1, limit)
            if closing < 0:
                return None
            at = closing
        at += 1
    return None


def _empty_except(match: re.Match[str]) -> str:
    replaced = f"{match.group('head')} ():"
    return replaced + " " * (len(match.group(0)) - len(replaced))
