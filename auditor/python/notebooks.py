"""The post-pass over Jupyter notebooks, which the scan does not analyse: each occurrence of a legacy name
gets a verdict from the part of the notebook it is in.

A notebook is JSON: a list of cells, each with a type, its source (a string or a list of lines) and, for a
code cell, its stored outputs. A small JSON lexer follows the path of each string (`cells`, index,
`source`). An occurrence in a Markdown or raw cell is prose; one in a stored output is what a run printed;
one in metadata is neither code nor SQL: none of them is a reference. An occurrence in a code cell's source
is read as Python: the cell's source is decoded and classified as a Python file's occurrences are (SQL text
stays unclassified, an identifier or a comment is not a reference). A cell with IPython magics (`%sql`,
`!psql`), a notebook of another shape, or anything the lexer cannot follow stays unclassified.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from auditor.python.mentions import classify_python
from auditor.sql.mentions import NOT_A_REFERENCE, UNCLASSIFIED, LegacyTest, Verdict

NOTEBOOK = "Jupyter notebook"  # the language discovery names `.ipynb` files by
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*+"|[{}\[\]:,]|[^\s{}\[\]:,"]++', re.DOTALL)  # possessive: no state kept
_PROSE = Verdict(NOT_A_REFERENCE, "a notebook's Markdown or raw cell (prose, not code)")
_OUTPUT = Verdict(NOT_A_REFERENCE, "a notebook's stored output (what a run printed, not code)")
_METADATA = Verdict(NOT_A_REFERENCE, "a notebook's metadata (not code)")
_UNREAD = Verdict(UNCLASSIFIED, "in a part of the notebook the scan did not read as a cell")
_MAGIC = Verdict(UNCLASSIFIED, "in a notebook cell with IPython magics (`%sql`, `!psql`), not read as Python")
_MAGIC_LINE = re.compile(r"^\s*[%!]", re.MULTILINE)


@dataclass
class _Frame:
    array: bool
    key: str = ""  # an object's current key
    index: int = 0  # an array's current index
    cell_type: str = ""  # a cell's type, once its key is read (nbformat writes it first)


@dataclass
class _Cell:
    kind: str
    pieces: list[tuple[int, int]] = field(default_factory=list)  # the source's string tokens


def classify_notebook(
    text: str, occurrences: list[tuple[int, int]], is_legacy: LegacyTest
) -> dict[int, Verdict]:
    """A verdict for each (start, end) occurrence, keyed by start offset."""
    places: dict[int, tuple[str, int | None]] = {}  # occurrence -> (part, cell index)
    cells: dict[int, _Cell] = {}
    pending = sorted(occurrences)
    stack: list[_Frame] = []
    expect_key = False
    next_one = 0  # the first occurrence not yet placed (tokens and occurrences are both in order)
    for match in _TOKEN.finditer(text):
        token = match.group()
        while next_one < len(pending) and pending[next_one][0] < match.start():
            next_one += 1  # between tokens: not in a string
        if token in ("{", "["):
            stack.append(_Frame(array=token == "["))
            expect_key = token == "{"
            continue
        if token in ("}", "]"):
            if stack:
                stack.pop()
            expect_key = False
            continue
        if token == ",":
            if stack:
                if stack[-1].array:
                    stack[-1].index += 1
                else:
                    expect_key = True
            continue
        if token == ":":
            expect_key = False
            continue
        if not stack:
            continue
        top = stack[-1]
        if expect_key and not top.array and token.startswith('"'):
            top.key = _decoded(token) or ""
            continue
        path = _path(stack)
        if top.key == "cell_type" and not top.array and token.startswith('"'):
            top.cell_type = _decoded(token) or ""  # the only value read: outputs are never decoded
        cell = _cell_index(path)
        if cell is not None and len(path) >= 3 and path[2] == "source" and token.startswith('"'):
            kind = stack[2].cell_type if len(stack) > 2 else ""
            cells.setdefault(cell, _Cell(kind)).pieces.append(match.span())
        while next_one < len(pending) and pending[next_one][0] < match.end():
            places[pending[next_one][0]] = (_part(path), cell)
            next_one += 1
    verdicts: dict[int, Verdict] = {}
    for start, end in pending:
        part, cell = places.get(start, ("", None))
        if part == "outputs":
            verdicts[start] = _OUTPUT
        elif part in ("metadata", "attachments", "notebook-metadata"):
            verdicts[start] = _METADATA
        elif part == "source" and cell is not None and cell in cells:
            verdicts[start] = _in_cell(text, cells[cell], start, end, is_legacy)
        else:
            verdicts[start] = _UNREAD
    return verdicts


def _path(stack: list[_Frame]) -> list[str | int]:
    return [frame.index if frame.array else frame.key for frame in stack]


def _cell_index(path: list[str | int]) -> int | None:
    """The cell a path is in: `cells`, index, ... from the notebook's root."""
    if len(path) >= 2 and path[0] == "cells" and isinstance(path[1], int):
        return path[1]
    return None


def _part(path: list[str | int]) -> str:
    if len(path) >= 1 and path[0] == "metadata":
        return "notebook-metadata"
    if len(path) >= 3 and _cell_index(path) is not None and isinstance(path[2], str):
        return path[2]
    return ""


def _in_cell(text: str, cell: _Cell, start: int, end: int, is_legacy: LegacyTest) -> Verdict:
    if cell.kind in ("markdown", "raw"):
        return _PROSE
    if cell.kind != "code":
        return _UNREAD
    source: list[str] = []
    offset = None
    for lo, hi in cell.pieces:
        if lo < start < hi:
            prefix = _decoded(text[lo:start] + '"')
            if prefix is None:
                return _UNREAD
            offset = sum(map(len, source)) + len(prefix)
        piece = _decoded(text[lo:hi])
        if piece is None:
            return _UNREAD
        source.append(piece)
    if offset is None:
        return _UNREAD
    code = "".join(source).replace("\r", "\n")  # as Python reads a lone CR (the same length: offsets hold)
    if _MAGIC_LINE.search(code):
        return _MAGIC
    length = end - start
    if code[offset : offset + length].lower() != text[start:end].lower():
        return _UNREAD  # an escape inside the name: the offsets do not map
    try:
        return classify_python(code, [(offset, offset + length)], is_legacy)[offset]
    except Exception:  # a cell no reading of Python can follow: never a reason to drop the occurrence
        return _UNREAD


def _decoded(token: str) -> str | None:
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
