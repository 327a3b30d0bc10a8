"""The post-pass over YAML files, which the scan does not analyse: Hasura's metadata tracks the tables its
GraphQL API reads (`table: {name: orders, schema: public}`), dbt's sources list the tables its models
select from, a seed or fixture config names the tables it fills. Dropping a view such a file names breaks
the tool that reads it, so an occurrence of a legacy name there stays unclassified (a person checks it),
except in a comment (`#` at the start of a line or after a space, outside a quoted scalar) and in a
one-line value that its text shows to be no table name (prose such as a `description:`, a URL), read as a
string is in Python.
"""

from __future__ import annotations

import re

from auditor.core.source import line_around
from auditor.python.configfiles import OPENAPI_DOCUMENT
from auditor.python.mentions import classify_string
from auditor.sql.mentions import NOT_A_REFERENCE, UNCLASSIFIED, LegacyTest, Verdict

YAML = "YAML"  # the language discovery names `.yaml` and `.yml` files by
_COMMENT = Verdict(NOT_A_REFERENCE, "a YAML comment")
_VALUE = Verdict(
    UNCLASSIFIED,
    "it is in a YAML file, which the scan does not analyse (Hasura metadata, dbt sources and seed configs"
    " name the tables a tool reads)",
)


def classify_yaml(text: str, spans: list[tuple[int, int]], is_legacy: LegacyTest) -> dict[int, Verdict]:
    """A verdict for each (start, end) of a legacy name in a YAML text."""
    out: dict[int, Verdict] = {}
    api = _API_SPEC.search(text) is not None
    for start, end in spans:
        if api:  # an HTTP API's description: its schemas' names and enum values are the API's words
            out[start] = OPENAPI_DOCUMENT
            continue
        line_start = text.rfind("\n", 0, start) + 1
        if _in_block_scalar(text, line_start):
            out[start] = _VALUE  # a block scalar's text: SQL, prose or a name, never YAML structure
        elif _comment_before(text[line_start:start]):
            out[start] = _COMMENT
        else:
            out[start] = _plain_value(text, line_start, start, end, is_legacy)
    return out


# an OpenAPI or Swagger document: a top-level `openapi:` or `swagger:` key
_API_SPEC = re.compile(r"^(?:openapi|swagger)[ \t]*:", re.MULTILINE)
# `key: value` or `- value` (a flow collection's `[`, `{` or a second key is not one value: not read)
_VALUE_START = re.compile(r"[ \t]*(?:-[ \t]+)*(?:[^\s#'\"{}\[\]][^:#{}\[\]]*:[ \t]+)?")


_KEY = re.compile(r":(?:[ \t]|\Z)")


def _plain_value(text: str, line_start: int, start: int, end: int, is_legacy: LegacyTest) -> Verdict:
    """The verdict of an occurrence in a one-line scalar (`description: Star ratings help search`): its
    text read as a Python string's would be; what that reading calls no reference (prose, a URL, a file
    name) is none here either. Anything else stays unclassified."""
    line = line_around(text, start)[1]
    head = _VALUE_START.match(line)
    begin = head.end() if head is not None else 0
    value = line[begin:].rstrip()
    comment = value.find(" #")
    if comment >= 0:
        value = value[:comment].rstrip()
    if _KEY.search(value) is not None:
        return _VALUE  # a mapping key (`orders:`): a seed or replication config keys tables by name
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value, begin = value[1:-1], begin + 1
    local = start - line_start - begin
    if not 0 <= local <= len(value) - (end - start) or value[:1] in ("|", ">", "&", "*", "!"):
        return _VALUE
    verdict = classify_string(f'"{value}"', local + 1, end - start, is_legacy)
    return verdict if verdict.verdict == NOT_A_REFERENCE else _VALUE


def _comment_before(head: str) -> bool:
    """Does a comment start in ``head`` (a line up to an occurrence)? Quoted scalars are skipped: a `#`
    inside 'single' or "double" quotes is text."""
    quote = ""
    previous = " "
    index = 0
    while index < len(head):
        char = head[index]
        if quote:
            if char == quote:
                if quote == "'" and head[index + 1 : index + 2] == "'":  # '' is a quote inside '...'
                    index += 1
                else:
                    quote = ""
            elif char == "\\" and quote == '"':
                index += 1
        elif char in "'\"" and previous in " \t:-[{,":
            quote = char
        elif char == "#" and previous in " \t":
            return True
        previous = char
        index += 1
    return False


_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*[ \t]*(?:#.*)?\Z")


def _in_block_scalar(text: str, line_start: int) -> bool:
    """Is the line at ``line_start`` part of a block scalar (`sql: |`, `description: >-`)? Its parent, the
    nearest line above it that is indented less, ends with a block indicator; a `#` in such a line is
    text (SQL's `#>>` operator, a count), never a comment."""
    line_end = text.find("\n", line_start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    indent = len(line) - len(line.lstrip(" "))
    end = line_start - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        above = text[start:end]
        stripped = above.lstrip(" ")
        if stripped.strip() and len(above) - len(stripped) < indent:
            return _BLOCK_HEADER.search(above.rstrip()) is not None
        end = start - 1
    return False
