"""The target's name written in the style of the legacy reference it replaces (quoting, qualifier)."""

from __future__ import annotations

import re

from auditor.catalog.names import fold_identifier
from auditor.core.model import ObjectName


def rewrite_reference(written: str, schema_written: bool, target: ObjectName, default_schema: str) -> str:
    """The target name written in the style of ``written``: same quoting, qualifier kept when written."""
    parts = [m.group(0) for m in re.finditer(r'"(?:[^"]|"")*"|[^."]+', written)]
    parts = [p.strip() for p in parts if p.strip()] or [written]
    name = _format_identifier(target.name, parts[-1].startswith('"'))
    if schema_written and len(parts) >= 2:
        schema_part = parts[-2]
        if fold_identifier(schema_part) != target.schema:
            schema_part = _format_identifier(target.schema, schema_part.startswith('"'))
        return ".".join([*parts[:-2], schema_part, name])
    if target.schema != default_schema:
        return f"{_format_identifier(target.schema, False)}.{name}"
    return name


def rewrite_schema(
    position: str, legacy: ObjectName, target: ObjectName, schema_written: bool, default_schema: str
) -> str | None:
    """The default schema for rewrite_reference(). A catalog lookup by name written without a schema is
    looked up in a schema the statement or the search path gives, so it takes the bare target name; None
    when the target lives in another schema (that filter or search path changes too: a person's edit)."""
    if position != "lookup" or schema_written:
        return default_schema
    return target.schema if target.schema == legacy.schema else None


def _format_identifier(name: str, quoted: bool) -> str:
    if quoted or not re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return '"' + name.replace('"', '""') + '"'
    return name
