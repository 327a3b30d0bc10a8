"""The post-pass over HTML pages and the documentation the scan lists: what people read is no reference,
what a browser runs is read as JavaScript.

A static page or a server template may load supabase-js and call `supabase.from("orders")` in a
`<script>` element or an `onclick="..."` handler: those are read as JavaScript-family code is (the table
of a `.from()` call is a reference, a string that may be a table name stays unclassified). Everything
else in a page (text, markup, an HTML comment, a template's `{{ orders }}`) is read by people or by the
template engine, never run against the database: not a reference. Documentation (Markdown,
reStructuredText, AsciiDoc, plain text) is prose throughout, except a plain-text file that holds SQL
statements: a script may run it (`psql -f queries.txt`), so it is read as a `.sql` file's text is and what
names a table there stays unclassified.
"""

from __future__ import annotations

import re

from auditor.discover.languages import PLAIN_TEXT
from auditor.python.javascript import classify_javascript
from auditor.sql.mentions import NOT_A_REFERENCE, UNCLASSIFIED, LegacyTest, Verdict, classify_sql_file

HTML = "HTML"  # the language discovery names `.html` and `.htm` files by
_MARKUP = Verdict(
    NOT_A_REFERENCE, "HTML text or markup, read by people (a page's scripts are read as JavaScript)"
)
# a script element's content, and an event handler attribute's value (`onclick="..."`)
_CODE = re.compile(
    r"""<script\b[^>]*+>(?P<script>.*?)</script\s*>"""
    r"""|\son[a-z]+\s*=\s*(?:"(?P<double>[^"]*+)"|'(?P<single>[^']*+)')""",
    re.IGNORECASE | re.DOTALL,
)


def prose_verdict(language: str) -> Verdict:
    """The verdict of every occurrence in documentation."""
    return Verdict(NOT_A_REFERENCE, f"documentation ({language}), read by people, never run")


# a line that starts an SQL statement as a script writes it (at its start: documentation indents its
# examples), the keyword, then what only SQL puts after it
_SQL_STATEMENT = re.compile(
    r"^(?:select\b[^;]*?\bfrom\s|insert\s+into\s|update\s+[\w.\"]+\s+set\s|delete\s+from\s"
    r"|create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+|unlogged\s+|materialized\s+)?"
    r"(?:table|view|index|function|trigger|policy)\s|alter\s+table\s|drop\s+(?:table|view)\s"
    r"|truncate\s|\\?copy\s+[\w.\"]+\s*(?:\(|from\s|to\s)|with\s+\w+\s+as\s*\()",
    re.IGNORECASE | re.MULTILINE,
)


def classify_documentation(
    language: str, text: str, occurrences: list[tuple[int, int]], is_legacy: LegacyTest
) -> dict[int, Verdict]:
    """A verdict for each (start, end) occurrence in documentation, keyed by start offset: prose, or, in a
    plain-text file that holds SQL statements, what the SQL around it says (a table's use: unclassified)."""
    first = _SQL_STATEMENT.search(text) if language == PLAIN_TEXT and not _DOC_MARKUP.search(text) else None
    if first is None:
        return dict.fromkeys((start for start, _ in occurrences), prose_verdict(language))
    # the prose above the first statement (a title, how to run it) is blanked: the SQL is read from there
    sql = _BLANK.sub(" ", text[: first.start()]) + text[first.start() :]
    verdicts = classify_sql_file(sql, [o for o in occurrences if o[0] >= first.start()], is_legacy)
    verdicts.update((start, prose_verdict(language)) for start, _ in occurrences if start < first.start())
    for start, verdict in verdicts.items():
        if verdict.verdict == UNCLASSIFIED:
            verdicts[start] = Verdict(UNCLASSIFIED, f"{_SQL_IN_TEXT}; {verdict.reason}")
    return verdicts


# documentation written in a markup language under `.txt` (Django's reStructuredText docs, Markdown notes):
# a directive, a literal block's `::`, a code fence; its SQL is an example
_DOC_MARKUP = re.compile(r"^(?:\.\. [\w-]+::|```|~~~)|::[ \t]*$", re.MULTILINE)
_SQL_IN_TEXT = "a plain-text file that holds SQL statements (a script may run it: `psql -f`)"


def classify_html(text: str, occurrences: list[tuple[int, int]], is_legacy: LegacyTest) -> dict[int, Verdict]:
    """A verdict for each (start, end) occurrence in an HTML page, keyed by start offset."""
    regions = [
        match.span(group)
        for match in _CODE.finditer(text)
        for group in ("script", "double", "single")
        if match.start(group) >= 0
    ]
    verdicts = {start: _MARKUP for start, _ in occurrences}
    inside = [(s, e) for s, e in occurrences if any(a <= s and e <= b for a, b in regions)]
    if inside:
        # the code alone, at its offsets: markup around it becomes spaces (a quote in text opens no string)
        pieces: list[str] = []
        last = 0
        for start, end in sorted(regions):
            if start < last:
                continue  # inside a region kept already (`onclick=` written in a script's string)
            pieces += (_BLANK.sub(" ", text[last:start]), text[start:end])
            last = end
        pieces.append(_BLANK.sub(" ", text[last:]))
        verdicts.update(classify_javascript("".join(pieces), inside, is_legacy))
    return verdicts


_BLANK = re.compile(r"[^\n]")
