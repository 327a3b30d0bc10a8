"""The cheap text pre-filter: only files that can hold a reference are parsed.

Substring tests on a lower-cased copy run at memory speed; the exact word-boundary check runs only on
the few files that pass them. This is the hot path of a cold scan over a large tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator

from auditor.catalog.names import whole_words

SUPPRESSION_MARK = "audit: ignore"  # a suppression comment's mark, in any language
SUPPRESSION_MARK_BYTES = SUPPRESSION_MARK.encode()
_TABLE_KEYWORDS = (b"from", b"join", b"into", b"update", b"table")
# after a table keyword inside a string: an f-string hole, a %-format, or the end of the literal before `+`;
# the hole may be quoted as an identifier ("%s", `%s`), not as an SQL string ('%s': a value, never a table)
_DYNAMIC_TAIL = re.compile(rb"""[ \t\n]+["`]?[ \t]*(?:\{|%s\b|%\(|["'][ \t]*\+)""")
_CLIENT_CALLS = (b".table(", b".from_(")
_NON_LITERAL_ARG = re.compile(rb"[ \t]*[a-z_]")


class NamePrefilter:
    """Does a file's text name one of a set of identifiers (case-insensitive, as whole words)?"""

    def __init__(self, names: Iterable[str]) -> None:
        encoded = sorted({n.lower().encode("utf-8") for n in names if n})
        self.needles = tuple(encoded)
        alternation = b"|".join(re.escape(n) for n in sorted(encoded, key=len, reverse=True)) or rb"(?!x)x"
        self.exact = re.compile(rb"(?<!\w)(?:" + alternation + rb")(?!\w)", re.IGNORECASE)  # grep -w

    def matches(self, data: bytes, lowered: bytes) -> bool:
        # each name's occurrences in turn (`exact`'s answer): twice as fast as `re` on the bench corpus,
        # where names occur inside longer words
        return any(_whole_word(lowered, n) for n in self.needles if n in lowered)

    def found_in(self, lowered: bytes) -> set[str]:
        """The names in lower-cased text, lower-cased: each name's occurrences in turn, up to the first that
        is a whole word (a generated bundle holds thousands of `orders_id`, which the regex visits all)."""
        return {n.decode("utf-8", "replace") for n in self.needles if _whole_word(lowered, n)}


def names_in_file(path: str, names: NamePrefilter) -> set[str] | None:
    """The lower-cased legacy names in a file's bytes (also as UTF-16), read in chunks (a file too large
    to analyse still holds the names it contains); None when it cannot be read."""
    found: set[str] = set()
    tail = b""
    try:
        if not os.path.lexists(path):
            return found  # deleted since it was found: nothing is left to name anything
        if not os.path.isfile(path):
            return None  # a directory that could not be listed: its files may name anything
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                data = tail + chunk
                texts = [data]
                if b"\0" in data:  # UTF-16 text without a BOM is not ASCII-compatible
                    texts += [data.decode(c, "replace").encode() for c in ("utf-16-le", "utf-16-be")]
                    texts += [data[1:].decode(c, "replace").encode() for c in ("utf-16-le", "utf-16-be")]
                for text in texts:
                    found.update(names.found_in(text.lower()))
                tail = data[-256:]
    except OSError:
        return None
    return found


_CHUNK = 1 << 20


def builds_dynamic_sql(lowered: bytes) -> bool:
    """A table keyword followed by a formatting hole in text that may be SQL (its line does not show it to
    be prose, see `_prose`), or a client table call with a non-literal name. Stops at the first one."""
    return any(
        (at == 0 or lowered[at - 1] not in _WORD_BYTES)
        and _DYNAMIC_TAIL.match(lowered, at + len(keyword))
        and not _prose(lowered, at)
        and not (keyword == b"from" and _no_table_after_from(lowered, at))
        for keyword in _TABLE_KEYWORDS
        for at in _occurrences(lowered, keyword)
    ) or any(
        _NON_LITERAL_ARG.match(lowered, at + len(call))
        for call in _CLIENT_CALLS
        for at in _occurrences(lowered, call)
    )


class SinkCallPrefilter:
    """Calls of declared sinks (the config's `[[sinks]]`, a team's own rule packs) whose SQL or table
    argument is not written as a literal: a name, an attribute, a call. The file is parsed wherever else it
    stands, so that an unresolved value is an LR005 (a helper a team declared is where its names go). A
    function imported under another name (`from acme_db import insert_row as put`) is looked for by both."""

    def __init__(self, calls: Iterable[tuple[str, bool, tuple[int, ...], tuple[str, ...]]]) -> None:
        # (needle, a method: any receiver before it, the argument's pattern after the needle)
        self.calls: list[tuple[bytes, bool, re.Pattern[bytes]]] = []
        for name, method, positions, keywords in calls:
            needle = (("." if method else "") + name.lower() + "(").encode()
            # the commas before it, or its keyword; bounded, so that a file of such calls stays linear
            forms = [rb"(?:[^,]{0,200}?,){%d}" % position for position in positions]
            forms += [rb"[^)]{0,400}?\b" + re.escape(k.lower().encode()) + rb"[ \t]*=" for k in keywords]
            if forms:
                argument = rb"(?:" + b"|".join(forms) + rb")[ \t\r\n]*\*{0,2}[a-z_]"
                self.calls.append((needle, method, re.compile(argument)))

    def matches(self, lowered: bytes) -> bool:
        for needle, method, argument in self.calls:
            needles = [needle]
            if not method and needle[:-1] + b" as " in lowered:  # `import name as alias`: `alias(` too
                needles += [
                    m.group(1) + b"(" for m in _ALIAS.finditer(lowered) if m.group(0).startswith(needle[:-1])
                ]
            for called in needles:
                for at in _occurrences(lowered, called):
                    if (method or at == 0 or lowered[at - 1] not in _WORD_BYTES) and argument.match(
                        lowered, at + len(called)
                    ):
                        return True
        return False


_ALIAS = re.compile(rb"\b[a-z_][a-z0-9_]*[ \t]+as[ \t]+([a-z_][a-z0-9_]*)")


# `FROM` inside a call's parentheses that takes no table: EXTRACT(day FROM %s), SUBSTRING(x FROM %s)
_FROM_IN_CALL = re.compile(rb"(?:extract|substring|substr|trim|overlay)[ \t]*\([^()]*\Z")
# Python's own import statement, written as text: "from %s import models", f"from {module} import {x}"
_IMPORT_AFTER_HOLE = re.compile(rb"[ \t]+(?:\{[^{}\n]*\}|%s|%\([a-z_]+\)s)[ \t]+import\b")


def _no_table_after_from(lowered: bytes, at: int) -> bool:
    """A `from` whose hole is no table: it is inside EXTRACT(...) or SUBSTRING(...) on its line, or the
    text is a Python import statement."""
    line_start = lowered.rfind(b"\n", 0, at) + 1
    return (
        _FROM_IN_CALL.search(lowered, line_start, at) is not None
        or _IMPORT_AFTER_HOLE.match(lowered, at + 4) is not None
    )


def _occurrences(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + 1)


_FIRST_WORD = re.compile(rb"[ \t\r\n(]*([a-z_]+)(\(?)")
# words a string of SQL, or a piece of one, may start with
_SQL_WORDS = frozenset(
    b"""select insert update delete with from join into table where and or on set values returning order
    group having limit offset union intersect except create alter drop truncate copy merge explain analyze
    analyse vacuum lock grant revoke comment begin commit rollback declare fetch move refresh reindex cluster
    call do show describe pragma replace using left right inner outer cross full natural lateral as case
    when not exists in is distinct all by asc desc nulls window partition over filter only if upsert
    """.split()
)


def _prose(lowered: bytes, at: int) -> bool:
    """Does the line of a keyword-and-hole offset show it to be prose? Its line is a comment, or it lies in
    a one-line string that starts on that line, continues no other string, and starts with a word that no
    SQL text starts with and that is not a function call: `log.debug("reading %s from %s")`, `"failed to
    locate a column from table '%s'"`, `"class '%s' does not inherit from '%s'"` (quotes of the other kind
    inside it). Anything the line cannot tell (a string that starts with a hole, a quote or any other
    non-letter, one that runs over several lines or continues another) is not."""
    line_start = lowered.rfind(b"\n", 0, at) + 1
    head = lowered[line_start:at]
    if head.lstrip().startswith(b"#"):
        return True  # a comment line
    # the string it is in starts at the last quote before it, or at the first when every later quote is
    # of the other kind (then they are inside that string)
    last = max(head.rfind(b'"'), head.rfind(b"'"))
    first = min((q for q in (head.find(b'"'), head.find(b"'")) if q >= 0), default=-1)
    return any(_prose_string(lowered, line_start, head, q) for q in {last, first} if q >= 0)


def _prose_string(lowered: bytes, line_start: int, head: bytes, quote: int) -> bool:
    """Is the string whose opening quote is at ``quote`` of ``head`` (its line up to the keyword) one that
    the line shows to be prose?"""
    if head.count(head[quote : quote + 1]) != 1 or b"#" in head[:quote]:
        return False  # several strings (or quotes of its kind inside one) before it: not read here
    before = head[:quote].rstrip(b"rbuft").rstrip()
    end = line_start - 1
    while not before.lstrip(b" \t([{") and end > 0:  # first on its line: it may continue the line before
        start = lowered.rfind(b"\n", 0, end) + 1
        before, end = lowered[start:end].rstrip(), start - 1
        if b"#" in before:
            return False  # a comment may end a line between the parts of a string
    if before[-1:] in (b'"', b"'", b"\\"):
        return False  # it continues a string written before it (`"..." "..."`)
    word = _FIRST_WORD.match(head, quote + 1)
    return word is not None and not word.group(2) and word.group(1) not in _SQL_WORDS


_METADATA_SCHEMA = re.compile(rb"metadata\([^)]*\bschema[ \t]*=")


def sets_table_schema(lowered: bytes) -> bool:
    """`MetaData(schema=...)` or `__table_args__ = {"schema": ...}` (SQLAlchemy)."""
    if b"__table_args__" in lowered and (b'"schema"' in lowered or b"'schema'" in lowered):
        return True
    return b"metadata(" in lowered and _METADATA_SCHEMA.search(lowered) is not None


class ModelClassPrefilter:
    """Files that may define an ORM model whose derived table name (`<app>_<model>`) is legacy.

    Such a file need not contain the legacy name at all, so the model's class name is looked for.
    """

    def __init__(self, names: Iterable[str]) -> None:
        suffixes = {name[i + 1 :] for name in names for i, char in enumerate(name) if char == "_"}
        suffixes = {s for s in suffixes if s.isidentifier()}
        alternation = b"|".join(re.escape(s.lower().encode()) for s in sorted(suffixes)) or rb"(?!x)x"
        self.pattern = _class_named(alternation)
        whole = b"|".join(re.escape(n.lower().encode()) for n in sorted(names) if n.isidentifier())
        # a class whose name, as `cls.__name__.lower()` computes a table name, is a legacy name
        self.named_like = _class_named(whole or rb"(?!x)x")

    def sets_schema(self, lowered: bytes) -> bool:
        """The schema of the tables on a MetaData, or of a class's table: read when a model imports it."""
        return b"schema" in lowered and sets_table_schema(lowered)

    def computes_name(self, lowered: bytes) -> bool:
        """A `@declared_attr` table name, computed for each subclass (`cls.__name__.lower()`)."""
        return b"declared_attr" in lowered and b"__tablename__" in lowered

    def class_named_like(self, lowered: bytes) -> bool:
        return b"class" in lowered and _defines(self.named_like, lowered)

    def matches(self, path: str, lowered: bytes) -> bool:
        if path.endswith("apps.py") and b"appconfig" in lowered:
            return True  # an AppConfig may relabel the app, and so its models' tables
        # default table names are Django's: only a module that imports Django can define such a model
        return b"django" in lowered and _defines(self.pattern, lowered)


def _class_named(alternation: bytes) -> re.Pattern[bytes]:
    """`class NAME`, NAME one of the alternation as a whole word. The pattern starts with the literal
    `class`, which `re` finds with a fast scan (a leading `\\b` would make it try every offset: 9x
    slower on the bench corpus); the word boundary before it is checked by `_defines`."""
    return re.compile(rb"class[ \t]+(?:" + alternation + rb")\b")


_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _whole_word(lowered: bytes, needle: bytes) -> bool:
    """Does ``needle`` occur in ``lowered`` as a whole word, as `grep -w` reads words (a name joined to a
    `$`, which the analysis reads as another name, still needs its verdict: see `dollar_spans`)?"""
    return next(whole_words(lowered, needle, _WORD_BYTES), -1) >= 0


def _defines(pattern: re.Pattern[bytes], lowered: bytes) -> bool:
    """A match of a `_class_named` pattern that starts a word."""
    for match in pattern.finditer(lowered):
        start = match.start()
        if start == 0 or lowered[start - 1] not in _WORD_BYTES:
            return True
    return False
