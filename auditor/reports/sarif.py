"""The SARIF 2.1.0 report, shaped for GitHub code scanning (upload-sarif)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from auditor.core.model import Confidence, Diagnostic, Finding, ScanResult, Span, Suggestion
from auditor.core.rules import RULES, Rule
from auditor.reports.common import TOOL_NAME, TOOL_VERSION, name_or_none, report_order, sorted_diagnostics

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "auditorFingerprint/v1"

_LEVEL = {Confidence.HIGH: "error", Confidence.MEDIUM: "warning", Confidence.LOW: "note"}
# The rules that say "look at this" rather than "this breaks after the drop" default to a warning.
_DEFAULT_LEVEL = {"LR005": "warning", "LR900": "warning"}
_SQL_RULES = frozenset({"LR101", "LR102"})  # their examples are SQL, the others' Python


def to_sarif(result: ScanResult, fingerprints: Sequence[str]) -> str:
    """The report as a SARIF 2.1.0 log with one run; ``fingerprints`` parallel ``result.findings``."""
    rule_index = {code: index for index, code in enumerate(RULES)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": TOOL_VERSION,
                "semanticVersion": TOOL_VERSION,
                "rules": [_rule(rule) for rule in RULES.values()],
            }
        },
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [_notification(d) for d in sorted_diagnostics(result)],
            }
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(result.root)}},
        # Span columns count code points, not SARIF's default UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, fp, rule_index[f.rule]) for f, fp in report_order(result, fingerprints)],
    }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: Rule) -> dict[str, Any]:
    language = "sql" if rule.code in _SQL_RULES else "python"
    text = (
        f"{rule.what}\n\nWhy: {rule.why}\n\nExample:\n{_indent(rule.example)}\n\n"
        f"Use instead:\n{_indent(rule.use_instead)}"
    )
    markdown = (
        f"{rule.what}\n\n**Why.** {rule.why}\n\n**Example**\n\n```{language}\n{rule.example}\n```\n\n"
        f"**Use instead**\n\n```{language}\n{rule.use_instead}\n```"
    )
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": _DEFAULT_LEVEL.get(rule.code, "error")},
    }


def _result(finding: Finding, fingerprint: str, rule_index: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "confidence": str(finding.confidence),
        "legacy": name_or_none(finding.legacy),
        "target": name_or_none(finding.target),
        "block": finding.block,
    }
    if finding.via:
        properties["via"] = list(finding.via)
    if finding.db_object is not None:
        properties["dbObject"] = finding.db_object
    physical: dict[str, Any] = {
        "artifactLocation": _artifact(finding.path),
        "region": _region(finding.span),
    }
    if finding.snippet:
        # The snippet is the whole (stripped) source line, so it belongs to the context region: a
        # region's own snippet must be exactly the text inside the region.
        physical["contextRegion"] = {
            "startLine": finding.span.line,
            "endLine": finding.span.end_line,
            "snippet": {"text": finding.snippet},
        }
    sarif: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.confidence],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": properties,
    }
    if finding.suggestion is not None:
        sarif["fixes"] = [_fix(finding.path, finding.suggestion)]
    return sarif


def _fix(path: str, suggestion: Suggestion) -> dict[str, Any]:
    return {
        "description": {"text": suggestion.description},
        "artifactChanges": [
            {
                "artifactLocation": _artifact(path),
                "replacements": [
                    {
                        "deletedRegion": _region(suggestion.span),
                        "insertedContent": {"text": suggestion.replacement},
                    }
                ],
            }
        ],
    }


def _notification(diagnostic: Diagnostic) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(diagnostic.path)}
    if diagnostic.line is not None:
        physical["region"] = {"startLine": diagnostic.line}
    return {
        "level": "warning",
        "message": {"text": f"{diagnostic.path}: {diagnostic.message}"},
        "descriptor": {"id": diagnostic.kind},
        "locations": [{"physicalLocation": physical}],
    }


def _artifact(path: str) -> dict[str, str]:
    """A relative, percent-encoded URI against %SRCROOT% (paths are already "/"-separated)."""
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def _region(span: Span) -> dict[str, int]:
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }


def _directory_uri(root: str) -> str:
    uri = Path(root).absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
