"""Reports for CI systems: GitHub Actions annotations, GitLab Code Quality, JUnit XML."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from auditor.core.model import Confidence, Finding, ScanResult
from auditor.core.rules import rule_name
from auditor.reports.common import TOOL_NAME, legacy_names, report_order, title

# ---------------------------------------------------------------------------------------------------
# GitHub Actions workflow commands

_GITHUB_LEVEL = {Confidence.HIGH: "error", Confidence.MEDIUM: "warning", Confidence.LOW: "notice"}


def to_github(result: ScanResult, fingerprints: Sequence[str]) -> str:
    """One ``::error``/``::warning``/``::notice`` workflow command per finding, one per line."""
    lines = []
    for finding, _ in report_order(result, fingerprints):
        span = finding.span
        one_line = span.end_line == span.line  # GitHub takes columns only on single-line annotations
        properties = [
            ("file", finding.path),
            ("line", str(span.line)),
            *([("col", str(span.column))] if one_line else []),
            ("endLine", str(span.end_line)),
            *([("endColumn", str(span.end_column))] if one_line else []),
            ("title", title(finding)),
        ]
        rendered = ",".join(f"{key}={_escape_property(value)}" for key, value in properties)
        lines.append(f"::{_GITHUB_LEVEL[finding.confidence]} {rendered}::{_escape_data(finding.message)}")
    return "".join(line + "\n" for line in lines)


def _escape_data(text: str) -> str:
    """Escape a command's message the way @actions/core does: ``%``, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Escape a command property value: the message escapes plus ``:`` and ``,``."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# ---------------------------------------------------------------------------------------------------
# GitLab Code Quality

_GITLAB_SEVERITY = {Confidence.HIGH: "major", Confidence.MEDIUM: "minor", Confidence.LOW: "info"}


def to_gitlab(result: ScanResult, fingerprints: Sequence[str]) -> str:
    """A GitLab Code Quality report: a JSON array with one issue per finding.

    GitLab needs fingerprints unique within a report, but ours leave out the path (they survive
    renames), so identical code in two files shares one; such findings get the path mixed in.
    """
    ordered = report_order(result, fingerprints)
    shared = Counter(fp for _, fp in ordered)
    issues: list[dict[str, Any]] = []
    for finding, fp in ordered:
        if shared[fp] > 1:
            fp = hashlib.sha256(f"{fp}\0{finding.path}".encode()).hexdigest()[: len(fp)]
        issues.append(
            {
                "description": f"{finding.rule}: {finding.message}",
                "check_name": finding.rule,
                "fingerprint": fp,
                "severity": _GITLAB_SEVERITY[finding.confidence],
                "location": {"path": finding.path, "lines": {"begin": finding.span.line}},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------------
# JUnit XML

UNRESOLVED_CASE = "unresolved"
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def to_junit(result: ScanResult, fingerprints: Sequence[str]) -> str:
    """JUnit XML: one testsuite; a testcase per legacy object that fails with a ``<failure>`` per
    finding naming it, a testcase ``unresolved`` for LR005, and one per rule for other findings
    without a legacy name (LR900). ``failures`` counts failing testcases, as JUnit does."""
    cases: dict[str, list[Finding]] = {name: [] for name in legacy_names(result)}
    cases[UNRESOLVED_CASE] = []
    others: defaultdict[str, list[Finding]] = defaultdict(list)
    for finding, _ in report_order(result, fingerprints):
        if finding.legacy is not None:
            cases[str(finding.legacy)].append(finding)
        elif finding.rule == "LR005":
            cases[UNRESOLVED_CASE].append(finding)
        else:
            others[rule_name(finding.rule)].append(finding)
    cases.update(sorted(others.items()))

    failing = sum(1 for findings in cases.values() if findings)
    counts = {"tests": str(len(cases)), "failures": str(failing), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": TOOL_NAME, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": TOOL_NAME, **counts})
    for name, findings in cases.items():
        case = ET.SubElement(suite, "testcase", {"classname": TOOL_NAME, "name": _xml_text(name)})
        for finding in findings:
            span = finding.span
            failure = ET.SubElement(
                case, "failure", {"message": _xml_text(finding.message), "type": finding.rule}
            )
            failure.text = _xml_text(
                f"{finding.path}:{span.line}:{span.column}: {title(finding)} "
                f"({finding.confidence}): {finding.message}"
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)
