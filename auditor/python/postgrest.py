"""Embedded resources in PostgREST select strings: `.select("id, items:order_line_items!fk(*)")`."""

from __future__ import annotations

import re

_NAME = re.compile(r'\s*(?:\.\.\.)?\s*(?:(?P<alias>[\w$]+)\s*:(?!:)\s*)?(?P<name>"[^"]+"|[\w$]+)')
_HINT = re.compile(r'\s*!\s*(?P<hint>"[^"]+"|[\w$]+)')


def embedded_resources(select: str) -> list[tuple[int, int]]:
    """Offsets (start, end) of every embedded resource name and `!hint`, at any depth.

    Plain column items are not resources; only an item followed by a parenthesised column list is.
    """
    found: list[tuple[int, int]] = []
    _items(select, 0, len(select), found)
    return found


def _items(text: str, start: int, end: int, found: list[tuple[int, int]]) -> None:
    pos = start
    while pos < end:
        item_end = _item_end(text, pos, end)
        match = _NAME.match(text, pos, item_end)
        if match is not None:
            after = match.end()
            names = [(match.start("name"), match.end("name"))]
            hint = _HINT.match(text, after, item_end)
            while hint is not None:
                names.append((hint.start("hint"), hint.end("hint")))
                after = hint.end()
                hint = _HINT.match(text, after, item_end)
            rest = text[after:item_end].lstrip()
            if rest.startswith("("):
                open_at = text.index("(", after)
                close_at = _matching(text, open_at, item_end)
                found.extend(names)
                _items(text, open_at + 1, close_at, found)
        pos = item_end + 1


def _item_end(text: str, pos: int, end: int) -> int:
    depth = 0
    for i in range(pos, end):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            return i
    return end


def _matching(text: str, open_at: int, end: int) -> int:
    depth = 0
    for i in range(open_at, end):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return end
