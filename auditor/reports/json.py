"""The JSON report, schema version 1.

Contract: the keys below, in this order, with these types. Adding keys is compatible with version 1;
renaming, removing or retyping one needs a new ``schema_version``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from auditor.core.model import Diagnostic, Finding, LegacyObject, Mention, ScanResult, Suggestion
from auditor.core.rules import rule_name
from auditor.reports.common import (
    TOOL_NAME,
    TOOL_VERSION,
    findings_per_legacy,
    left_out_counts,
    name_or_none,
    ready_to_drop,
    report_order,
    sorted_diagnostics,
)

SCHEMA_VERSION = 1
_TOP_LEVEL = (
    "schema_version",
    "tool",
    "catalog",
    "findings",
    "diagnostics",
    "summary",
    "non_references",
    "left_out",
)


def to_json(result: ScanResult, fingerprints: Sequence[str], extra: dict[str, Any] | None = None) -> str:
    """The report as JSON text (indent 2, trailing newline); ``fingerprints`` parallel ``result.findings``.

    ``extra`` adds top-level keys after the contract's; it may not replace one of them.
    """
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "catalog": [_catalog_entry(entry) for entry in sorted(result.catalog, key=lambda e: str(e.legacy))],
        "findings": [_finding(finding, fp) for finding, fp in report_order(result, fingerprints)],
        "diagnostics": [_diagnostic(d) for d in sorted_diagnostics(result)],
        "summary": {
            "files_scanned": result.files_scanned,
            "findings": len(result.findings),
            "by_legacy": findings_per_legacy(result),
            "ready_to_drop": ready_to_drop(result),
        },
        # additive: each occurrence of a legacy name classified as not a reference, with the reason
        "non_references": [_non_reference(m) for m in result.mentions if m.verdict == "not-a-reference"],
    }
    if result.left_out:  # additive keys, present when files were left out
        document["summary"]["left_out"] = left_out_counts(result.left_out)
        document["left_out"] = [{"path": e.path, "reason": e.reason} for e in result.left_out]
    if extra:
        clash = sorted(set(extra) & set(_TOP_LEVEL))
        if clash:
            raise ValueError(f"extra keys would replace the report's own: {', '.join(clash)}")
        document.update(extra)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _catalog_entry(entry: LegacyObject) -> dict[str, Any]:
    return {
        "legacy": str(entry.legacy),
        "target": name_or_none(entry.target),
        "kind": entry.kind,
        "source": entry.source,
        "columns": dict(entry.columns),
        "evidence": list(entry.evidence),
        "computed": dict(entry.computed),
    }


def _finding(finding: Finding, fingerprint: str) -> dict[str, Any]:
    span = finding.span
    return {
        "rule": finding.rule,
        "name": rule_name(finding.rule),
        "path": finding.path,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
        "legacy": name_or_none(finding.legacy),
        "target": name_or_none(finding.target),
        "block": finding.block,
        "confidence": str(finding.confidence),
        "message": finding.message,
        "snippet": finding.snippet,
        "suggestion": _suggestion(finding.suggestion),
        "fingerprint": fingerprint,
        "via": list(finding.via),
        "db_object": finding.db_object,
        **({"context": finding.context} if finding.context else {}),
    }


def _suggestion(suggestion: Suggestion | None) -> dict[str, Any] | None:
    if suggestion is None:
        return None
    span = suggestion.span
    return {
        "replacement": suggestion.replacement,
        "description": suggestion.description,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _diagnostic(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "path": diagnostic.path,
        "line": diagnostic.line,
        "kind": diagnostic.kind,
        "message": diagnostic.message,
    }


def _non_reference(mention: Mention) -> dict[str, Any]:
    # path, line, column, name, reason: the mention without its verdict (always "not-a-reference" here)
    return {key: value for key, value in dataclasses.asdict(mention).items() if key != "verdict"}
