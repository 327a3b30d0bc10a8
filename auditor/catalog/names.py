"""The legacy catalog: which names are legacy and what replaces them, with a fast name lookup."""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator
from typing import Any, AnyStr

from auditor.core.model import LegacyObject, ObjectName


def fold_identifier(text: str) -> str:
    """PostgreSQL identifier folding: unquoted names are lower-cased, quoted ones kept verbatim."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()


def parse_object_name(text: str, default_schema: str) -> ObjectName:
    """Parse ``schema.name`` / ``name`` / ``"Quoted"."Name"`` into a folded :class:`ObjectName`."""
    parts = _split_qualified(text.strip())
    if len(parts) == 1:
        return ObjectName(default_schema, fold_identifier(parts[0]))
    return ObjectName(fold_identifier(parts[-2]), fold_identifier(parts[-1]))


_DECLARED_PART = re.compile(r'"(?:[^"]|"")+"|[^\W\d][\w$]*')
_HOSTILE = re.compile(r"[*%;\x00-\x1f\x7f]")


def parse_declared_name(text: str, default_schema: str) -> ObjectName:
    """A name a person declared (config, ``--legacy``): ``name`` or ``schema.name``, each part an
    identifier or a quoted identifier. ValueError says what is wrong with anything else."""
    text = text.strip()
    bad = _HOSTILE.search(text)
    if bad is not None:
        raise ValueError(f"{text!r} is not a relation name: {bad.group(0)!r} is not allowed in one")
    parts: list[str] = []
    at = 0
    while True:
        part = _DECLARED_PART.match(text, at)
        if part is None:
            raise ValueError(f"{text!r} is not a relation name: expected name or schema.name")
        parts.append(part.group(0))
        at = part.end()
        if at == len(text):
            break
        if text[at] != "." or len(parts) == 2:
            raise ValueError(f"{text!r} is not a relation name: expected name or schema.name")
        at += 1
    if len(parts) == 1:
        return ObjectName(default_schema, fold_identifier(parts[0]))
    return ObjectName(fold_identifier(parts[0]), fold_identifier(parts[1]))


def _split_qualified(text: str) -> list[str]:
    parts: list[str] = []
    for match in re.finditer(r'"(?:[^"]|"")*"|[^.]+', text):
        parts.append(match.group(0).strip())
    return parts or [text]


class LegacyCatalog:
    """Legacy objects keyed by folded schema-qualified name."""

    def __init__(self, objects: Iterable[LegacyObject], default_schema: str = "public") -> None:
        self.default_schema = default_schema
        self._by_name: dict[ObjectName, LegacyObject] = {}
        for obj in objects:
            self._by_name[obj.legacy] = obj
        # bare name -> the objects of that name, the default schema's first; the schemas that hold one
        self._by_bare: dict[str, tuple[LegacyObject, ...]] = {}
        for obj in sorted(
            self._by_name.values(), key=lambda o: (o.legacy.schema != default_schema, str(o.legacy))
        ):
            self._by_bare[obj.legacy.name] = (*self._by_bare.get(obj.legacy.name, ()), obj)
        self._schemas = frozenset(name.schema for name in self._by_name)

    @property
    def objects(self) -> tuple[LegacyObject, ...]:
        return tuple(sorted(self._by_name.values(), key=lambda o: str(o.legacy)))

    def __len__(self) -> int:
        return len(self._by_name)

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def get(self, name: ObjectName) -> LegacyObject | None:
        return self._by_name.get(name)

    def lookup(self, schema: str | None, name: str) -> LegacyObject | None:
        """Find the legacy object for an already-folded (schema, name); no schema means the default, after
        `pg_catalog` (PostgreSQL looks a name up there before the search path: `pg_attribute` is always the
        system catalog's)."""
        if schema is None and "pg_catalog" in self._schemas:
            found = self._by_name.get(ObjectName("pg_catalog", name))
            if found is not None:
                return found
        return self._by_name.get(ObjectName(schema or self.default_schema, name))

    def holds_schema(self, schema: str) -> bool:
        """Whether a legacy object lives in this (folded) schema: a relation of any other is none."""
        return schema in self._schemas

    def named(self, name: str) -> tuple[LegacyObject, ...]:
        """The legacy objects of this (folded) bare name, in any schema, the default schema's first."""
        return self._by_bare.get(name, ())

    @property
    def bare_names(self) -> frozenset[str]:
        """The unqualified legacy names, for the cheap text pre-filter."""
        return frozenset(obj.legacy.name for obj in self._by_name.values())


def name_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """Whole-word, case-insensitive occurrences of any of ``names`` (what `grep -iw` finds)."""
    names = set(names)
    # longest first so that alternation prefers whole names; sorted so the pattern (a cache key) is stable
    ordered = sorted({re.escape(n) for n in names}, key=lambda n: (-len(n), n))
    alternation = "|".join(ordered) or r"(?!x)x"
    # `$` is part of a name (JavaScript's `orders$`), except where `${` opens an interpolation after it
    pattern = re.compile(rf"(?<![\w$])(?:{alternation})(?!\w|\$(?!\{{))", re.IGNORECASE)
    needles = tuple(sorted({n.lower() for n in names}))
    if all(n.isascii() for n in needles):  # else only the pattern can tell (Unicode case folding)
        _NEEDLES.setdefault(pattern.pattern, needles)
    return pattern


def dollar_spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """The occurrences `grep -w` sees that ``pattern`` (of `name_pattern`) does not: a name joined to a
    `$` (`$orders`, `orders$x`, `'^orders$'`), which grep's words (letters, digits, `_`) leave whole."""
    if "$" not in text:
        return []
    grep = _GREP_PATTERNS.get(pattern.pattern)
    if grep is None:
        own = pattern.pattern
        alternation = own[own.index("(?:") : own.rindex(")(?!") + 1]
        grep = _GREP_PATTERNS[own] = re.compile(rf"(?<!\w){alternation}(?!\w)", pattern.flags)
    spans = []
    for match in grep.finditer(text):
        start, end = match.span()
        if text[start - 1 : start] == "$" or (text[end : end + 1] == "$" and text[end + 1 : end + 2] != "{"):
            spans.append((start, end))
    return spans


_GREP_PATTERNS: dict[str, re.Pattern[str]] = {}

# the names of each pattern `name_pattern` made, lower-cased (a process that received a pattern by
# pickling, not by forking, has none: it searches with the pattern alone)
_NEEDLES: dict[str, tuple[str, ...]] = {}


def names_in(pattern: re.Pattern[str], text: str) -> bool:
    """``pattern.search(text) is not None``, for a pattern of `name_pattern`. An ASCII text that holds
    none of the names, even inside a word, is answered by substring searches (C speed) instead of the
    regex, which tries its look-behind at every position of a whole module (2 ms a file)."""
    needles = _NEEDLES.get(pattern.pattern)
    if needles is not None and text.isascii():
        lowered = text.lower()
        if not any(n in lowered for n in needles):
            return False
    return pattern.search(text) is not None


def name_spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """The (start, end) of ``pattern.finditer(text)``, for a pattern of `name_pattern`. In an ASCII text,
    when every name is made of word characters, each name's occurrences in the lower-cased text are found
    by substring search and kept when nothing word-like touches them: the regex's matches (two whole-word
    matches never overlap), at C speed (the case-insensitive regex reads 16 MB/s)."""
    needles = _NEEDLES.get(pattern.pattern)
    if needles is None or not text.isascii() or not all(_WORD.fullmatch(n) for n in needles):
        return [m.span() for m in pattern.finditer(text)]
    lowered = text.lower()
    spans = [(at, at + len(n)) for n in needles for at in whole_words(lowered, n, _WORD_CHARS)]
    spans.sort()
    return spans


def whole_words(text: AnyStr, needle: AnyStr, word: Container[Any]) -> Iterator[int]:
    """Where ``needle`` occurs in ``text`` with nothing of ``word`` (the characters, or the byte values, a
    name is made of) right before or after it: substring search, at C speed."""
    size, at = len(text), text.find(needle)
    while at >= 0:
        end = at + len(needle)
        if (at == 0 or text[at - 1] not in word) and (
            end == size or text[end] not in word or text[end : end + 2] in _INTERPOLATION
        ):
            yield at
        at = text.find(needle, at + 1)


# `orders${n}` in a template literal: the name ends where the interpolation starts (as for grep -w)
_INTERPOLATION = ("${", b"${")


_WORD = re.compile(r"[\w$]+", re.ASCII)
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
