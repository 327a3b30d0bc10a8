"""SQL files that are templates: Jinja tags (`{% if %}`, `{% include(...) %}`, `{{ table_name }}`,
`{# note #}`), as dbt models, Nominatim's lib-sql or Airflow's templated scripts write them.

The analysis reads such a file with its tags masked, offsets kept: a statement tag or a comment becomes
blanks (its newlines stay), an expression becomes underscores, so that `idx_{{t}}_token` stays one name
and `FROM {{ t }}` a table position. What a tag holds is never evaluated: a legacy name inside one is
classified by `template_reason`.
"""

from __future__ import annotations

import re

# bounded, so that an unclosed tag costs a bounded look-ahead
_TAG = re.compile(r"\{#.{0,20000}?#\}|\{%.{0,4000}?%\}|\{\{.{0,1000}?\}\}", re.DOTALL)
_OPENERS = ("{%", "{{", "{#")
# a path inside a tag (`{% include('tables/orders.sql') %}`): the name is part of a file's name
_PATH_AROUND = re.compile(r"[\w.-]*/[\w./-]*|[\w-]+\.(?:sql|j2|jinja2?|txt)\b", re.IGNORECASE)


def has_templates(text: str) -> bool:
    return any(opener in text for opener in _OPENERS)


def template_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each template tag in ``text``, in order."""
    if not has_templates(text):
        return []
    return [match.span() for match in _TAG.finditer(text)]


def masked(text: str) -> str:
    """``text`` with its template tags masked (same length, same line breaks); itself when it has none."""
    if not has_templates(text):
        return text

    def mask(match: re.Match[str]) -> str:
        tag = match.group(0)
        # an expression inside a line stands for a name or a value; alone on its lines (dbt's
        # `{{ config(...) }}`, a macro call) it writes no part of the statement around it
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end()) % (len(text) + 1)  # -1 (the last line): its end
        alone = not text[line_start : match.start()].strip() and not text[match.end() : line_end].strip()
        fill = "_" if tag.startswith("{{") and not alone else " "
        return "".join(char if char == "\n" else fill for char in tag)

    return _TAG.sub(mask, text)


def template_reason(text: str, spans: list[tuple[int, int]], start: int, end: int) -> tuple[bool, str] | None:
    """For a name at ``start:end`` inside one of the template ``spans``: (is it surely not a reference,
    why); None when it is outside every tag."""
    for low, high in spans:
        if low <= start < high:
            break
        if low > start:
            return None
    else:
        return None
    if text.startswith("{#", low):
        return True, "a template comment ({# ... #})"
    for path in _PATH_AROUND.finditer(text, low, high):
        if path.start() <= start and end <= path.end():
            return True, "part of a file name in a template tag (an include), not the table"
    return False, "inside a template tag ({% ... %} or {{ ... }}), which the scan does not evaluate"
