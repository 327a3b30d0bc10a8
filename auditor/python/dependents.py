"""Uses, in Python, of functions built on a legacy view: a call in SQL text (`SELECT sales.f(%s)`) or a
PostgREST remote procedure call (`supabase.rpc("f", ...)`). Views built on one are found by the resolver
like any table name; functions are not table names, so their calls are read off the string literals."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.core.model import ObjectName
from auditor.python.extract import module_name
from auditor.python.syntax import parse_python
from auditor.sql.dependents import function_calls

_STRING_TOKENS = frozenset({tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)})


@dataclass(frozen=True, slots=True)
class FunctionUse:
    line: int
    column: int  # 1-based, code points
    end_line: int
    end_column: int
    function: ObjectName
    block: str  # "pkg.mod:Class.method"


def function_uses(
    path: str, text: str, pattern: re.Pattern[str], functions: dict[str, list[ObjectName]]
) -> list[FunctionUse]:
    """Calls of ``functions`` in the string literals of one module, and its `.rpc("name")` calls."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []  # the extractor reports a file that does not tokenize
    blocks = _Blocks(text, module_name(path))
    uses = []
    for index, token in enumerate(tokens):
        if token.type not in _STRING_TOKENS:
            continue
        rpc = index >= 2 and tokens[index - 1].string == "(" and tokens[index - 2].string == "rpc"
        for start, end, function in _calls_in(token.string, rpc, pattern, functions):
            line, column = _position(token, start)
            end_line, end_column = _position(token, end)
            uses.append(FunctionUse(line, column, end_line, end_column, function, blocks.at(line)))
    return uses


def _calls_in(
    literal: str, rpc: bool, pattern: re.Pattern[str], functions: dict[str, list[ObjectName]]
) -> Iterator[tuple[int, int, ObjectName]]:
    if rpc:  # supabase.rpc("name", {...}): the literal is the function's name
        quote = re.match(r"[a-zA-Z]*(['\"])", literal)
        if quote is not None:
            start = quote.end()
            name = literal[start:].rstrip("'\"")
            for function in functions.get(name.lower(), ()):
                yield start, start + len(name), function
                return
    yield from function_calls(literal, pattern, functions)


def _position(token: tokenize.TokenInfo, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` within a token that may span lines."""
    before = token.string[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        return token.start[0], token.start[1] + offset + 1
    return token.start[0] + newlines, offset - before.rfind("\n")


class _Blocks:
    """The enclosing block of a line: "pkg.mod:Class.func", or "pkg.mod:<module>"."""

    def __init__(self, text: str, module: str) -> None:
        self.module = module
        self.ranges: list[tuple[int, int, str]] = []
        try:
            tree = parse_python(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        self._walk(tree, "")

    def _walk(self, node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                self.ranges.append((child.lineno, child.end_lineno or child.lineno, name))
                self._walk(child, name + ".")
            else:
                self._walk(child, prefix)

    def at(self, line: int) -> str:
        inner = [r for r in self.ranges if r[0] <= line <= r[1]]
        name = max(inner, key=lambda r: r[0])[2] if inner else "<module>"
        return f"{self.module}:{name}"
