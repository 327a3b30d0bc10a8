"""What every report exporter needs: findings in report order with their fingerprints, and tallies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from auditor import __version__
from auditor.core.model import (
    LEFT_OUT_REASONS,
    Diagnostic,
    Finding,
    LeftOut,
    ObjectName,
    ScanResult,
    UnanalysedFile,
    blocks_phase3,
    unverified_holds,
)
from auditor.core.rules import rule_name

TOOL_NAME = "auditor"
TOOL_VERSION = __version__


def name_or_none(name: ObjectName | None) -> str | None:
    """A schema-qualified name as text, ``None`` when absent (LR005's legacy, a target-less entry)."""
    return None if name is None else str(name)


def title(finding: Finding) -> str:
    """``"LR001 legacy-name-in-static-sql"``: the rule code and its kebab-case name."""
    return f"{finding.rule} {rule_name(finding.rule)}"


def report_order(result: ScanResult, fingerprints: Sequence[str]) -> list[tuple[Finding, str]]:
    """Findings paired with their fingerprints (parallel to ``result.findings``), sorted by
    (path, line, column, rule) and then by the rest of the span and the message for a total order."""
    if len(fingerprints) != len(result.findings):
        raise ValueError(f"{len(fingerprints)} fingerprints for {len(result.findings)} findings")

    def key(pair: tuple[Finding, str]) -> tuple[str, int, int, str, int, int, str, str]:
        finding, fp = pair
        span = finding.span
        return (
            finding.path,
            span.line,
            span.column,
            finding.rule,
            span.end_line,
            span.end_column,
            fp,
            finding.message,
        )

    return sorted(zip(result.findings, fingerprints, strict=True), key=key)


def legacy_names(result: ScanResult) -> list[str]:
    """Every legacy name of the catalog, plus any a finding names that the catalog lacks; sorted."""
    names = {str(entry.legacy) for entry in result.catalog}
    names.update(str(f.legacy) for f in result.findings if f.legacy is not None)
    return sorted(names)


def findings_per_legacy(result: ScanResult) -> dict[str, int]:
    """How many findings name each legacy object; every name of ``legacy_names`` appears, 0 included."""
    counts = Counter(str(f.legacy) for f in result.findings if f.legacy is not None)
    return {name: counts[name] for name in legacy_names(result)}


def ready_to_drop(result: ScanResult) -> list[str]:
    """Catalog legacy names that no blocking finding names (at any confidence; migration history blocks
    nothing), and that no unanalysed file or unaccepted unresolved table name (LR005) may hold; sorted.
    With a database whose usage could not be observed, none."""
    if result.database is not None and not result.database.usage_observed:
        return []  # who still queries the views is unknown: nothing is ready
    blocked = {str(f.legacy) for f in result.findings if blocks_phase3(f)}
    held = unverified_holds(result)
    return sorted({str(e.legacy) for e in result.catalog} - blocked - held.keys())


def sorted_diagnostics(result: ScanResult) -> list[Diagnostic]:
    """Diagnostics in report order: by path, line (file-level ones first), kind and message."""
    return sorted(result.diagnostics, key=lambda d: (d.path, d.line or 0, d.kind, d.message))


def unanalysed_note(file: UnanalysedFile) -> str:
    """What an unanalysed file means for the plan, in one sentence."""
    if file.unreadable:
        return "its text could not be read: it blocks every legacy object"
    if file.names:
        return "it names " + ", ".join(map(str, file.names)) + ": blocked until it is analysed"
    return "it names no legacy object (it cannot block one by name, but nobody checked its code)"


def left_out_counts(left_out: Sequence[LeftOut]) -> dict[str, int]:
    """How many files were left out, by reason, in the order of LEFT_OUT_REASONS."""
    counts = Counter(entry.reason for entry in left_out)
    return {reason: counts[reason] for reason in LEFT_OUT_REASONS if counts[reason]}
