"""CPython's parser, for code written for a newer Python than the one running the scan.

A module that uses a newer grammar fails to parse as a whole, and everything in it would go unanalysed.
Where a newer form only changes how something that names no table is written, it is rewritten to an
older form of exactly the same length, so every other position in the file stays as written:

- PEP 758 (Python 3.14): `except A, B:` without parentheses becomes `except ():` padded with spaces (the
  exception classes it names are no table names).
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
    return _UNPARENTHESIZED_EXCEPT.sub(_empty_except, source)


def _empty_except(match: re.Match[str]) -> str:
    replaced = f"{match.group('head')} ():"
    return replaced + " " * (len(match.group(0)) - len(replaced))
