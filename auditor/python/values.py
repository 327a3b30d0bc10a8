"""Symbolic string values built from Python expressions: literal pieces, unknown holes, named references."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.core.model import slots_reduce


@dataclass(frozen=True, slots=True)
class Lit:
    """Literal text written in the source, with what it takes to map a value offset back to a position."""

    text: str
    line: int  # position of raw[0]
    column: int
    raw: str  # the source text the value was decoded from (a whole token, or an f-string text part)
    body: int  # index in raw where the value starts (after prefix and quote)
    escapes: bool  # backslash escapes are decoded (not a raw string)
    fpart: bool  # an f-string text part: "{{" and "}}" stand for one brace
    start: int = 0  # index of text[0] in the whole decoded value (a slice made by % or .format)
    block: str = ""  # the code block the literal is written in

    def position(self, index: int) -> tuple[int, int]:
        """The 1-based (line, column) of the source character that produced value character ``index``."""
        offset = self.raw_offset(self.start + index)
        before = self.raw[:offset]
        newlines = before.count("\n")
        if newlines == 0:
            return self.line, self.column + offset
        return self.line + newlines, offset - before.rfind("\n")

    def raw_offset(self, index: int) -> int:
        raw, i, produced = self.raw, self.body, 0
        if not (self.escapes and "\\" in raw) and not (self.fpart and ("{" in raw or "}" in raw)):
            return i if i >= len(raw) else min(i + max(index, 0), len(raw))  # one character each
        while produced < index and i < len(raw):
            # a backslash-newline continuation is folded into the width of the character after it
            i += self._width(raw, i)
            produced += 1
        return i

    def _width(self, raw: str, i: int) -> int:
        char = raw[i]
        if self.fpart and char in "{}" and raw[i + 1 : i + 2] == char:
            return 2
        if not self.escapes or char != "\\" or i + 1 >= len(raw):
            return 1
        nxt = raw[i + 1]
        if nxt == "\n":
            return 2 + self._width(raw, i + 2) if i + 2 < len(raw) else 2
        if nxt == "x":
            return 4
        if nxt == "u":
            return 6
        if nxt == "U":
            return 10
        if nxt == "N":
            close = raw.find("}", i)
            return close - i + 1 if close != -1 else 2
        if nxt in "01234567":
            j = i + 2
            while j < len(raw) and j < i + 4 and raw[j] in "01234567":
                j += 1
            return j - i
        return 2


@dataclass(frozen=True, slots=True)
class Hole:
    """A part whose value is not known statically."""

    label: str  # the source text of the expression, e.g. "table"
    reason: str  # "parameter `table` of `count_rows`", "result of `get_name()`", ...
    node: int  # ordinal of the expression in its file, for the lazy position pass
    line: int = 0  # known position (0: ask the position pass)
    column: int = 0
    candidates: tuple[tuple[Piece, ...], ...] = ()  # values it may take (loop over a literal list, default)
    exhaustive: bool = False  # the candidates are all the values it can take
    table_object: bool = False  # a table object built by a table sink (sqlalchemy Table()), not a name
    undefined: bool = False  # a name that is defined nowhere in the scanned code
    function: str = ""  # a parameter's function, dotted ("app.db.Database.insert"); "" for other holes
    sql_file: str = ""  # the text of a .sql file read by a literal path: "queries/monthly.sql"
    param: str = ""  # the parameter's name
    # the result of a call of a scanned function: (its dotted target as `CallSite.callee`, the arguments as
    # `CallSite.args`, whether it is a method called on an object); the resolver puts in the one value the
    # function returns, if it knows it
    call: Called | None = None


@dataclass(frozen=True, slots=True)
class Ref:
    """A use of a named value defined elsewhere: a module or class constant, possibly imported."""

    target: str  # dotted: "app.db.tables.ORDER_ITEMS", "app.models.Order.TABLE"
    label: str  # the source text at the use, e.g. "tables.ORDER_ITEMS"
    node: int
    line: int = 0
    column: int = 0
    inherited: bool = False  # `self.x` / `cls.x`: looked up through base classes and subclasses
    unknown: str = ""  # when it does not resolve: an ordinary unknown value with this reason, not undefined
    # a template defined elsewhere and formatted at the use: `TEMPLATE % {...}`, `TEMPLATE.format(...)`;
    # the style ("%" or "{}"), the positional and the named arguments, applied once the value is known
    formatting: Formatting | None = None


Piece = Lit | Hole | Ref
Called = tuple[str, tuple[tuple[int, str | None, tuple[Piece, ...]], ...], bool]
Value = tuple[Piece, ...]
Formatting = tuple[str, tuple[Value, ...], tuple[tuple[str, Value], ...]]


def literal_text(value: Value) -> str:
    """The known text of a value, unknown parts left out (for cheap pre-checks)."""
    return "".join(p.text for p in value if isinstance(p, Lit))


ENUM_VALUE = ".value"


def member_name(label: str) -> str:
    """The constant's own name in a use like `tables.ITEMS` or `Tables.ITEMS.value`."""
    if label.endswith(ENUM_VALUE) and label.count(".") >= 2:
        label = label[: -len(ENUM_VALUE)]
    return label.rsplit(".", 1)[-1]


for _cls in (Lit, Hole, Ref):
    _cls.__reduce__ = slots_reduce  # type: ignore[method-assign,assignment]
