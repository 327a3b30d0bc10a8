"""The CSV report: one row per finding, for spreadsheets and triage by owner."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from auditor.core.model import ScanResult
from auditor.core.rules import rule_name
from auditor.reports.common import report_order

COLUMNS = (
    "path",
    "line",
    "column",
    "rule",
    "name",
    "legacy",
    "target",
    "confidence",
    "block",
    "owners",
    "message",
    "suggestion_replacement",
    "suggestion_description",
    "fingerprint",
)


def to_csv(
    result: ScanResult, fingerprints: Sequence[str], owners: Callable[[str], list[str]] | None = None
) -> str:
    """Header plus one row per finding, RFC 4180 (CRLF line ends, quoting only where needed).

    ``owners`` maps a finding's path to its owners (e.g. from CODEOWNERS); they are space-joined.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for finding, fingerprint in report_order(result, fingerprints):
        suggestion = finding.suggestion
        writer.writerow(
            (
                finding.path,
                finding.span.line,
                finding.span.column,
                finding.rule,
                rule_name(finding.rule),
                "" if finding.legacy is None else str(finding.legacy),
                "" if finding.target is None else str(finding.target),
                str(finding.confidence),
                finding.block,
                " ".join(owners(finding.path)) if owners is not None else "",
                finding.message,
                "" if suggestion is None else suggestion.replacement,
                "" if suggestion is None else suggestion.description,
                fingerprint,
            )
        )
    return buffer.getvalue()
