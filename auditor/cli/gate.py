"""The command line of the CI gate: `audit baseline`, and the gate options of `audit scan`.

Everything that reads or writes files for the gate (the baseline, git, suppression comments) happens
here; the decisions are made by the pure functions of :mod:`auditor.gate.gate`. Bad input is reported in
one line with exit status 2, before the scan runs whenever it can be known then.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from auditor.cli.options import (
    config_option,
    fail,
    jobs_option,
    legacy_option,
    load,
    parse_legacy,
    path_argument,
    progress_option,
    run_scan,
)
from auditor.core.model import ScanResult
from auditor.core.output import OutputError, check_output, printable
from auditor.gate.baseline import (
    DEFAULT_BASELINE,
    Baseline,
    BaselineError,
    baseline_from,
    entry_json,
    ratchet,
    read_baseline,
    write_baseline,
)
from auditor.gate.changed import ChangedError, ChangedLines, changed_lines
from auditor.gate.gate import GateError, GateReport, gate, resolve_fail_on, suppress
from auditor.gate.suppressions import load_suppressions

# --- the gate options of `audit scan` -------------------------------------------------------------------


if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class GateRequest:
    """The gate options, checked and loaded before the scan runs."""

    fail_on: str
    baseline_file: str | None = None
    baseline: Baseline | None = None
    update_baseline: bool = False
    changed: ChangedLines | None = None


def prepare_gate(
    path: str,
    baseline_file: str | None,
    update_baseline: bool,
    changed_since: str | None,
    fail_on: str | None,
) -> GateRequest:
    """Check the gate options and load the baseline and the changed lines; exit 2 on bad input."""
    if update_baseline and baseline_file is None:
        fail("--update-baseline needs --baseline FILE")
    if update_baseline and baseline_file is not None:
        try:
            check_output(baseline_file)
        except OutputError as exc:
            fail(f"--update-baseline: {exc}")
    chosen = resolve_fail_on(fail_on, baseline_file is not None)
    if isinstance(chosen, GateError):
        fail(str(chosen))
    baseline = None
    if baseline_file is not None:
        loaded = read_baseline(baseline_file)
        if isinstance(loaded, BaselineError):
            fail(str(loaded))
        baseline = loaded
    changed = None
    if changed_since is not None:
        found = changed_lines(os.path.abspath(path), changed_since)
        if isinstance(found, ChangedError):
            fail(str(found))
        changed = found
    return GateRequest(chosen, baseline_file, baseline, update_baseline, changed)


def apply_gate(result: ScanResult, request: GateRequest) -> GateReport:
    """Apply suppressions, baseline, changed lines; with --update-baseline, drop the fixed entries."""
    suppressions, diagnostics = load_suppressions(result.root, result.suppression_files)
    report = gate(
        result,
        suppressions=suppressions,
        suppression_diagnostics=diagnostics,
        baseline=request.baseline,
        changed=request.changed,
        fail_on=request.fail_on,
    )
    if isinstance(report, GateError):  # prepare_gate has checked the options already
        fail(str(report))
    comparison, baseline, target = report.comparison, request.baseline, request.baseline_file
    if request.update_baseline and baseline and target and comparison and comparison.fixed:
        try:
            write_baseline(target, ratchet(baseline, comparison))
        except OutputError as exc:
            fail(f"baseline not updated: {exc}")
        click.echo(f"audit: removed {len(comparison.fixed)} fixed finding(s) from {target}", err=True)
    return report


def json_extra(report: GateReport) -> dict[str, Any]:
    """Top-level keys the gate adds to the JSON report (only for the options in use)."""
    extra: dict[str, Any] = {}
    if report.comparison is not None:
        extra["baseline"] = {
            "new": len(report.comparison.new),
            "fixed": [entry_json(entry) for entry in report.comparison.fixed],
            "unchanged": len(report.comparison.unchanged),
        }
    if report.changed is not None:
        extra["changed_since"] = {"ref": report.changed.ref, "outside_changes": report.outside_changes}
    if report.suppressed:
        extra["suppressed"] = len(report.suppressed)
    return extra


def render_gate(report: GateReport, console: Console) -> None:
    from rich.text import Text  # rich: only the text format pays for importing it

    """The text report's gate section: the baseline comparison, fixed findings, left-out findings."""
    comparison = report.comparison
    if comparison is not None:
        console.print()
        console.print(
            f"baseline: {len(comparison.new)} new, {len(comparison.unchanged)} unchanged, "
            f"{len(comparison.fixed)} fixed since baseline",
            highlight=False,
        )
        if comparison.fixed:
            console.print(Text(f"fixed since baseline ({len(comparison.fixed)}):", style="bold green"))
            for entry in comparison.fixed:
                line = f"  {entry.path}:{entry.line} {entry.rule} {entry.legacy or '-'}  {entry.snippet}"
                console.print(Text(printable(line)), highlight=False)
    if report.changed is not None:
        console.print(
            f"changed since {report.changed.ref}: {report.outside_changes} finding(s) on unchanged lines "
            "left out",
            highlight=False,
        )
    hidden = (len(comparison.unchanged) if comparison is not None else 0) + report.outside_changes
    if hidden:
        console.print(
            f"note: {hidden} finding(s) not listed above (in the baseline, or on unchanged lines) still "
            "block dropping legacy objects; the table counts them",
            highlight=False,
        )
    if report.suppressed:
        count = len(report.suppressed)
        console.print(f"{count} finding(s) suppressed by `audit: ignore` comments", highlight=False)
    if report.exit_status == 0 and report.result.findings:
        console.print(f"--fail-on {report.fail_on}: these findings do not fail the build", highlight=False)


# --- `audit baseline` -----------------------------------------------------------------------------------


@click.command("baseline")
@path_argument
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help=f"The baseline file to write (default: PATH/{DEFAULT_BASELINE}).",
)
@config_option
@legacy_option
@jobs_option
@progress_option
def baseline_command(
    path: str,
    output: str | None,
    config_file: str | None,
    legacy: tuple[str, ...],
    jobs: int,
    no_progress: bool,
) -> None:
    """Write the current findings of PATH to a baseline file: `audit scan --baseline` then reports
    only new ones. Suppressed findings are left out; invalid suppressions (LR900) are kept."""
    target = output if output is not None else os.path.join(path, DEFAULT_BASELINE)
    try:
        check_output(target)
    except OutputError as exc:
        fail(f"cannot write baseline file {exc.path}: {exc.reason}")
    config = load(path, config_file)
    result = run_scan(path, config, parse_legacy(legacy), jobs, progress=not no_progress)
    baseline = baseline_of(result)
    try:
        write_baseline(target, baseline)
    except OutputError as exc:
        fail(f"cannot write baseline file {exc.path}: {exc.reason}")
    click.echo(f"audit: wrote {len(baseline.entries)} finding(s) to {target}", err=True)
    sys.exit(0)


def baseline_of(result: ScanResult) -> Baseline:
    """The baseline of a scan: its findings after the suppression comments, LR900 included."""
    from auditor.gate.fingerprint import fingerprints

    kept = with_suppressions(result)
    return baseline_from(kept.findings, fingerprints(kept.findings))


def with_suppressions(result: ScanResult) -> ScanResult:
    """The scan result as every report should see it: suppressed findings out, LR900 in. For
    commands other than `audit scan` (which applies the whole gate)."""
    suppressions, diagnostics = load_suppressions(result.root, result.suppression_files)
    return suppress(result, suppressions, diagnostics)[0]
