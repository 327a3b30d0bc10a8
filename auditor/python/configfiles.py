"""The post-pass over configuration the scan lists without analysing (TOML, INI, dotenv, Makefiles,
Dockerfiles, Procfiles), and the auditor's own settings wherever they are written.

An application's configuration may name the tables a job or a tool reads (`SYNC_TABLES=orders`, a
`[replication] tables = orders`): each such occurrence stays unclassified, except in a comment. The
auditor's own settings name the legacy views by design, and never read them: `audit.toml`, the
`[tool.audit]` tables of a `pyproject.toml`, and the old name of a `--legacy OLD=NEW` option in a CI
workflow, a pre-commit hook, a Makefile or a script are not references.
"""

from __future__ import annotations

import re

from auditor.core.source import line_around
from auditor.python.mentions import classify_string
from auditor.sql.mentions import NOT_A_REFERENCE, LegacyTest, Verdict

_OWN = Verdict(NOT_A_REFERENCE, "the auditor's own configuration (a legacy name it is told to look for)")
_COMMENT = Verdict(NOT_A_REFERENCE, "a comment in a configuration file")
_OUTPUT = Verdict(NOT_A_REFERENCE, "the auditor's own output (a baseline or a report of a scan)")
# the head of what the auditor writes: a JSON report or baseline names the tool, an HTML report says so
# (a GitLab code-quality report: its issues' check names are the auditor's rule codes)
_OWN_OUTPUT = re.compile(
    r'"tool"\s*:\s*\{\s*"name"\s*:\s*"auditor"|<title>Phase 3 plan</title>|"check_name"\s*:\s*"LR\d{3}"'
)
# `--legacy orders=orders_v2`, `--legacy=public.orders=...`, quoted or not: the old name, up to its `=`
_LEGACY_OPTION = re.compile(r"--legacy(?:[ \t]+|=)[\"']?(?:[\w$]+\.)?\Z")
_TABLE_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*(?P<name>[^\]]+?)[ \t]*\]", re.MULTILINE)


def own_configuration(path: str, text: str, spans: list[tuple[int, int]]) -> dict[int, Verdict]:
    """The occurrences that are the auditor's own settings or output, keyed by start offset."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == "audit.toml":
        return {start: _OWN for start, _ in spans}
    if _OWN_OUTPUT.search(text, 0, 2048) is not None:  # a baseline, a JSON or HTML report written here
        return {start: _OUTPUT for start, _ in spans}
    sections = _audit_tables(text) if name == "pyproject.toml" else []
    out: dict[int, Verdict] = {}
    for start, end in spans:
        line_start = text.rfind("\n", 0, start) + 1
        option = _LEGACY_OPTION.search(text, line_start, start) is not None and text[end : end + 1] == "="
        if option or any(a <= start < b for a, b in sections):
            out[start] = _OWN
    return out


def _audit_tables(text: str) -> list[tuple[int, int]]:
    """The (start, end) of a pyproject.toml's `[tool.audit]` and `[tool.audit.*]` tables."""
    headers = list(_TABLE_HEADER.finditer(text))
    found = []
    for index, header in enumerate(headers):
        table = header.group("name").replace(" ", "").replace('"', "")
        if table == "tool.audit" or table.startswith("tool.audit."):
            end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
            found.append((header.start(), end))
    return found


def classify_config(
    text: str, spans: list[tuple[int, int]], unread: Verdict, is_legacy: LegacyTest
) -> dict[int, Verdict]:
    """A comment (a line that starts with `#` or `;`, or a ` #` after a value) is not a reference, nor is a
    value whose text shows it to be no table name (a file path, prose), read as a Python string's text is
    (the quoted string it is in, else what follows the line's `=`); any other occurrence is ``unread``."""
    out: dict[int, Verdict] = {}
    for start, end in spans:
        line_start, line = line_around(text, start)
        at = start - line_start
        head = line[:at]
        if head.lstrip()[:1] in ("#", ";") or (" #" in head and head.count('"') % 2 == 0):
            out[start] = _COMMENT
            continue
        value, local = _value_around(line, at, end - start)
        verdict = classify_string(f'"{value}"', local + 1, end - start, is_legacy) if value else None
        out[start] = verdict if verdict is not None and verdict.verdict == NOT_A_REFERENCE else unread
    return out


def _value_around(line: str, at: int, length: int) -> tuple[str, int]:
    """The value an occurrence at ``at`` of ``line`` is in, and its offset there: the quoted string around
    it, else the text after the line's first `=` (\"\" when it is in neither)."""
    for quote in ('"', "'"):
        quoted = _quoted_around(line, at, length, quote)
        if quoted is not None:
            return quoted
    equals = line.find("=")
    if 0 <= equals < at:
        begin = len(line) - len(line[equals + 1 :].lstrip())
        return line[begin:].rstrip(), at - begin
    return "", 0


def _quoted_around(line: str, at: int, length: int, quote: str) -> tuple[str, int] | None:
    """The ``quote``-delimited string of ``line`` around an occurrence, and its offset there (an even
    number of quotes before the opening one: it opens a string)."""
    opening = line.rfind(quote, 0, at)
    closing = line.find(quote, at + length)
    if opening >= 0 and closing >= 0 and line.count(quote, 0, opening) % 2 == 0:
        return line[opening + 1 : closing], at - opening - 1
    return None


_OPENAPI_JSON = re.compile(r'"(?:openapi|swagger)"\s*:')
OPENAPI_DOCUMENT = Verdict(
    NOT_A_REFERENCE,
    "an OpenAPI document (an HTTP API's schema and field names, not the tables behind it)",
)


def classify_json(
    text: str, spans: list[tuple[int, int]], unread: Verdict, is_legacy: LegacyTest
) -> dict[int, Verdict]:
    """A mention in JSON (Hasura's or Debezium's settings, a seed file, a catalog of tables to sync): in an
    OpenAPI document, or in a string whose text shows it to be no table name (a path, prose), it is not a
    reference; anything else is ``unread`` (a key too: a config may key its tables by name)."""
    if _OPENAPI_JSON.search(text, 0, 4096) is not None:
        return {start: OPENAPI_DOCUMENT for start, _ in spans}
    out: dict[int, Verdict] = {}
    for start, end in spans:
        line_start, line = line_around(text, start)
        quoted = _quoted_around(line, start - line_start, end - start, '"')
        verdict = None
        if quoted is not None:
            value, local = quoted
            verdict = classify_string(f'"{value}"', local + 1, end - start, is_legacy)
        out[start] = verdict if verdict is not None and verdict.verdict == NOT_A_REFERENCE else unread
    return out
