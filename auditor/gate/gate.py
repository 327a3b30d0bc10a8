"""The CI gate: what a scan reports and whether it fails the build, as pure functions over ScanResult.

Order of application: findings -> suppressions (+ LR900) -> baseline split -> changed-since filter ->
report -> exit status by ``--fail-on``. Fingerprints are computed once, after the suppressions, over
every remaining finding, and carried along: a finding keeps the identity it was matched with even
when the findings around it are filtered out of the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from auditor.core.model import Confidence, Diagnostic, Finding, ScanResult, report_order, unverified_holds
from auditor.gate.baseline import Baseline, Comparison, compare
from auditor.gate.changed import ChangedLines
from auditor.gate.fingerprint import fingerprints as compute_fingerprints
from auditor.gate.suppressions import Suppression, apply_suppressions

FAIL_ON = ("new", "any", "high", "medium", "low", "never")
_THRESHOLDS = {"high": Confidence.HIGH, "medium": Confidence.MEDIUM, "low": Confidence.LOW}
EXIT_CLEAN, EXIT_FINDINGS = 0, 1


class GateError(Exception):
    """A combination of gate options that makes no sense: one line, exit status 2."""


@dataclass(frozen=True)
class GateReport:
    result: ScanResult  # the findings to report (new ones, on changed lines), LR900 included
    fingerprints: tuple[str, ...]  # parallel to result.findings
    fail_on: str
    exit_status: int
    suppressed: tuple[Finding, ...] = ()
    comparison: Comparison | None = None  # with a baseline: new / unchanged / fixed
    changed: ChangedLines | None = None
    outside_changes: int = 0  # findings left out because they are not on changed lines


def resolve_fail_on(fail_on: str | None, with_baseline: bool) -> str | GateError:
    """The ``--fail-on`` value to use: ``new`` with a baseline, ``any`` without, unless given."""
    if fail_on is None:
        return "new" if with_baseline else "any"
    if fail_on not in FAIL_ON:
        return GateError(f"--fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    if fail_on == "new" and not with_baseline:
        return GateError("--fail-on new needs --baseline FILE: without a baseline every finding is new")
    return fail_on


def sort_findings(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """The scan's own order: path, line, column, rule, legacy name."""
    return tuple(sorted(findings, key=report_order))


def suppress(
    result: ScanResult, suppressions: Sequence[Suppression], diagnostics: Sequence[Diagnostic] = ()
) -> tuple[ScanResult, tuple[Finding, ...]]:
    """The result without suppressed findings and with LR900 for bad or useless suppressions; also
    returns the suppressed findings. ``diagnostics`` (files that could not be re-read) are added."""
    outcome = apply_suppressions(result.findings, suppressions)
    findings = sort_findings([*outcome.kept, *outcome.invalid])
    all_diagnostics = tuple(
        sorted({*result.diagnostics, *diagnostics}, key=lambda d: (d.path, d.line or 0, d.kind, d.message))
    )
    return replace(result, findings=findings, diagnostics=all_diagnostics), outcome.suppressed


def split_baseline(
    result: ScanResult, prints: Sequence[str], baseline: Baseline
) -> tuple[ScanResult, tuple[str, ...], Comparison]:
    """Only the findings that are not in the baseline, their fingerprints, and the comparison."""
    comparison = compare(result.findings, prints, baseline)
    findings = tuple(result.findings[i] for i in comparison.new)
    return replace(result, findings=findings), tuple(prints[i] for i in comparison.new), comparison


def limit_to_changed(
    result: ScanResult, prints: Sequence[str], changed: ChangedLines
) -> tuple[ScanResult, tuple[str, ...], int]:
    """Only the findings on changed lines, their fingerprints, and how many were left out."""
    keep = [
        i
        for i, f in enumerate(result.findings)
        if changed.touches(f.path, f.span.line, max(f.span.line, f.span.end_line))
    ]
    findings = tuple(result.findings[i] for i in keep)
    outside = len(result.findings) - len(keep)
    return replace(result, findings=findings), tuple(prints[i] for i in keep), outside


def exit_status(findings: Sequence[Finding], fail_on: str, unanalysed_holds: bool = False) -> int:
    """1 when a reported finding fails the build under ``fail_on``, or a file that may name a legacy
    object could not be analysed (never a clean pass on code nobody read); else 0."""
    if fail_on == "never":
        return EXIT_CLEAN
    if unanalysed_holds:
        return EXIT_FINDINGS
    threshold = _THRESHOLDS.get(fail_on, Confidence.LOW)  # new / any: every reported finding fails
    return EXIT_FINDINGS if any(f.confidence >= threshold for f in findings) else EXIT_CLEAN


def gate(
    result: ScanResult,
    *,
    suppressions: Sequence[Suppression] = (),
    suppression_diagnostics: Sequence[Diagnostic] = (),
    baseline: Baseline | None = None,
    changed: ChangedLines | None = None,
    fail_on: str | None = None,
) -> GateReport | GateError:
    """Apply the whole gate to a scan result (see the module docstring for the order)."""
    chosen = resolve_fail_on(fail_on, baseline is not None)
    if isinstance(chosen, GateError):
        return chosen
    result, suppressed = suppress(result, suppressions, suppression_diagnostics)
    prints: tuple[str, ...] = tuple(compute_fingerprints(result.findings))
    comparison = None
    if baseline is not None:
        result, prints, comparison = split_baseline(result, prints, baseline)
    outside = 0
    if changed is not None:
        result, prints, outside = limit_to_changed(result, prints, changed)
    return GateReport(
        result=result,
        fingerprints=prints,
        fail_on=chosen,
        exit_status=exit_status(
            result.findings,
            chosen,
            any(w != "LR005" for why in unverified_holds(result).values() for w in why),
        ),
        suppressed=suppressed,
        comparison=comparison,
        changed=changed,
        outside_changes=outside,
    )
