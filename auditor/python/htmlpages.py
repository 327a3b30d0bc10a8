"""The post-pass over HTML pages and the documentation the scan lists: what people read is no reference,
what a browser runs is read as JavaScript.

A static page or a server template may load supabase-js and call `supabase.from("orders")` in a
`<script>` element or an `onclick="..."` handler: those are read as JavaScript-family code is (the table
of a `.from()` call is a reference, a string that may be a table name stays unclassified). Everything
else in a page (text, markup, an HTML comment, a template's `{{ orders }}`) is read by people or by the
template engine, never run against the database: not a reference. Documentation (Markdown,
reStructuredText, AsciiDoc, plain text) is prose throughout.
"""

from __future__ import annotations

import re

from auditor.python.javascript import classify_javascript
from auditor.sql.mentions import NOT_A_REFERENCE, LegacyTest, Verdict

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
