"""Cross-check `audit scan` against `grep -rniw` on a checked-out application.

Usage: python tests/benchmark/realworld.py APP_DIR --legacy NAME=NAME_V2 [--legacy ...] [--config FILE]
                                           [--show all|unexplained|lr006] [--time K] [--json FILE]
                                           [--labels LABELS.csv] [--every-file]

For each legacy name, every line `grep -rniw NAME` finds in the .py and .sql files of APP_DIR (with
`--every-file`, in any text file) is listed with what the scan made of it: a finding (rule), LR006
(unclassified, with the reason), a non-reference (with the reason), "not scanned" (excluded by the config
or .gitignore, with the folder), UNLISTED (a kind of file the scan does not list), or UNEXPLAINED. A
correct scan has no UNEXPLAINED line. `--time K` also runs K cold scans in-process and reports the median
time of the whole scan and of the post-pass that reconciles occurrences with findings.

`--labels` scores the scan against a blind-labelled sheet (made with `occurrences.py` and filled by a
person who never saw the engine's output; the committed sheets are in `tests/benchmark/labels/`): each
labelled occurrence (`ref`, `non`, `history`) is matched with the engine's verdict at that exact position,
and recall and precision on code that runs are printed, with every miss and every false alarm.
A `ref` counts as found only when a finding outside migration history covers it (LR006 included, and
also reported separately without it); a `non` is a false alarm when such a finding covers it.

Run it with the interpreter that has auditor installed (the worktree's .venv). Keep the application
outside the repository (e.g. /work/realworld/APP); never commit its code.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.catalog.config import load_config
from auditor.core.model import ScanResult
from auditor.discover.files import SKIPPED_DIRS, discover

SOURCE_SUFFIXES = (".py", ".sql")


@dataclass(frozen=True)
class GrepLine:
    path: str  # relative to the application root
    line: int
    text: str


def grep_lines(root: Path, names: Sequence[str], every_file: bool = False) -> list[GrepLine]:
    """Every line of a .py or .sql file (``every_file``: of any text file) that `grep -rniw` finds for one
    of ``names``."""
    command = ["grep", "-rniwIZ", "--exclude-dir=.git"]  # -Z: a NUL after the file name; -I: text files
    if not every_file:
        command += ["--include=*.py", "--include=*.sql"]
    for name in names:
        command += ["-e", name]
    done = subprocess.run([*command, "."], cwd=root, capture_output=True, text=True, errors="replace")
    if done.returncode not in (0, 1):
        raise SystemExit(f"grep failed: {done.stderr.strip()}")
    out: list[GrepLine] = []
    for row in done.stdout.splitlines():
        path, _, rest = row.partition("\0")  # a file name may hold a colon (`rev-2021-07-06-16:37_x.py`)
        number, _, text = rest.partition(":")
        if number.isdigit():
            out.append(GrepLine(path.removeprefix("./"), int(number), text.strip()))
    return out


def run_scan(root: Path, legacy: list[tuple[str, str]], config_file: str | None) -> ScanResult:
    from auditor.scan import ScanOptions, scan

    config = load_config(str(root), config_file)
    return scan(ScanOptions(str(root), config, legacy, jobs=0, cache_dir=None))


def classify_lines(
    root: Path, result: ScanResult, hits: list[GrepLine], config_file: str | None
) -> list[dict]:
    """What the scan made of each grep hit line."""
    found = discover(str(root), load_config(str(root), config_file).exclude)
    scanned = {f.path for f in (*found.files, *found.other)}  # code in other languages: its mentions
    left_out = {entry.path: entry.reason for entry in found.left_out}
    findings: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    lr006: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for finding in result.findings:
        if finding.legacy is None:
            continue
        key = (finding.path, finding.span.line)
        if finding.rule == "LR006":
            lr006[key].append(finding.message.split(": ", 1)[-1].split(". No rule")[0])
        else:
            findings[key].append(finding.rule)
    reasons: dict[tuple[str, int], list[str]] = collections.defaultdict(list)
    for mention in result.mentions:
        if mention.verdict == "not-a-reference":
            reasons[(mention.path, mention.line)].append(mention.reason)
    rows = []
    for hit in hits:
        key = (hit.path, hit.line)
        if key in findings:
            verdict, detail = "finding", ", ".join(sorted(set(findings[key])))
            if key in lr006:
                detail += "; LR006: " + "; ".join(lr006[key])
        elif key in lr006:
            verdict, detail = "LR006", "; ".join(lr006[key])
        elif key in reasons:
            verdict, detail = "not a reference", "; ".join(dict.fromkeys(reasons[key]))
        elif hit.path not in scanned and _left_out(hit.path, left_out):
            verdict, detail = "not scanned", _left_out(hit.path, left_out)
        elif hit.path not in scanned:
            verdict, detail = "UNLISTED", "a kind of file the scan does not list"
        else:
            verdict, detail = "UNEXPLAINED", ""
        rows.append(
            {"path": hit.path, "line": hit.line, "verdict": verdict, "detail": detail, "text": hit.text}
        )
    return rows


def _left_out(path: str, left_out: dict[str, str]) -> str:
    """Why discovery left a file out (an ignored or excluded folder covers the files under it, a folder the
    walk skips such as .audit_cache or node_modules), or ""."""
    parts = path.split("/")
    skipped = next((part for part in parts[:-1] if part in SKIPPED_DIRS), None)
    if skipped is not None:
        return f"a folder the scan skips ({skipped})"
    for depth in range(len(parts), 0, -1):
        prefix = "/".join(parts[:depth]) + ("/" if depth < len(parts) else "")
        if prefix in left_out:
            return f"{left_out[prefix]} ({prefix})"
    return ""


def time_scans(root: Path, legacy: list[tuple[str, str]], config_file: str | None, repeat: int) -> dict:
    """Median wall time of K cold scans and of the reconciling post-pass inside them."""
    import auditor.scan as pipeline

    original = pipeline._reconcile
    spent: list[float] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    totals: list[float] = []
    pipeline._reconcile = timed  # type: ignore[assignment]
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            run_scan(root, legacy, config_file)
            totals.append(time.perf_counter() - start)
    finally:
        pipeline._reconcile = original  # type: ignore[assignment]
    scan_median, post_median = statistics.median(totals), statistics.median(spent)
    return {
        "runs": repeat,
        "scan_median_s": round(scan_median, 3),
        "post_pass_median_s": round(post_median, 3),
        "post_pass_share": round(post_median / scan_median, 4) if scan_median else 0.0,
        "scan_runs_s": [round(t, 3) for t in totals],
        "post_pass_runs_s": [round(t, 3) for t in spent],
    }


@dataclass(frozen=True)
class Verdict:
    kind: str  # "finding" | "LR006" | "history" | "non-reference" | "not scanned" | "missing"
    detail: str


def occurrence_verdicts(result: ScanResult, scanned: set[str]) -> Callable[[str, int, int], Verdict]:
    """The engine's verdict on the occurrence that starts at (path, line, column), 1-based."""
    mentions = {(m.path, m.line, m.column): m for m in result.mentions}
    by_line: dict[tuple[str, int], list[Any]] = collections.defaultdict(list)
    for finding in result.findings:
        if finding.legacy is not None:
            for line in range(finding.span.line, finding.span.end_line + 1):
                by_line[(finding.path, line)].append(finding)

    def covering(path: str, line: int, column: int) -> list[Any]:
        out = []
        for finding in by_line.get((path, line), ()):
            span = finding.span
            after_start = (line, column) >= (span.line, span.column)
            before_end = (line, column) < (span.end_line, span.end_column)
            if after_start and before_end:
                out.append(finding)
        return out

    def verdict(path: str, line: int, column: int) -> Verdict:
        found = covering(path, line, column)
        blocking = [f for f in found if f.context != "migration"]
        if any(f.rule != "LR006" for f in blocking):
            return Verdict("finding", ",".join(sorted({f.rule for f in blocking})))
        if blocking:
            return Verdict("LR006", blocking[0].message)
        if found:
            return Verdict("history", ",".join(sorted({f.rule for f in found})))
        mention = mentions.get((path, line, column))
        if mention is not None and mention.verdict == "not-a-reference":
            if mention.reason == "migration history":
                return Verdict("history", mention.reason)
            return Verdict("non-reference", mention.reason)
        if path not in scanned:
            return Verdict("not scanned", "excluded by the config or .gitignore")
        return Verdict("missing", mention.reason if mention else "no verdict at this position")

    return verdict


def score_labels(result: ScanResult, labels: Path, root: Path, config_file: str | None) -> dict[str, Any]:
    """Recall and precision of the scan against a blind-labelled occurrence sheet."""
    found = discover(str(root), load_config(str(root), config_file).exclude)
    scanned = {f.path for f in (*found.files, *found.other)}  # code in other languages: its mentions
    verdict_at = occurrence_verdicts(result, scanned)
    with labels.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    table: collections.Counter[tuple[str, str]] = collections.Counter()
    misses, false_alarms, history_blocking = [], [], []
    for row in rows:
        label = row["label"].strip()
        if label not in ("ref", "non", "history"):
            where = f"{row['path']}:{row['line']}"
            raise SystemExit(f"{labels}: unlabelled or unknown label {label!r} at {where}")
        verdict = verdict_at(row["path"], int(row["line"]), int(row["col"]))
        table[(label, verdict.kind)] += 1
        where = f"{row['path']}:{row['line']}:{row['col']} {row['name']}"
        said = f"{where}: engine {verdict.kind} ({verdict.detail[:120]})"
        if label == "ref" and verdict.kind not in ("finding", "LR006"):
            misses.append(f"{said}; label: {row['reason']}")
        elif label == "non" and verdict.kind in ("finding", "LR006"):
            false_alarms.append(f"{said}; label: {row['reason']}")
        elif label == "history" and verdict.kind in ("finding", "LR006"):
            history_blocking.append(said)

    def ratio(numerator: int, denominator: int) -> float | None:
        return round(numerator / denominator, 4) if denominator else None

    def scores(found: tuple[str, ...]) -> dict[str, Any]:
        tp = sum(n for (label, kind), n in table.items() if label == "ref" and kind in found)
        fn = sum(n for (label, kind), n in table.items() if label == "ref" and kind not in found)
        fp = sum(n for (label, kind), n in table.items() if label == "non" and kind in found)
        return {"tp": tp, "fn": fn, "fp": fp, "recall": ratio(tp, tp + fn), "precision": ratio(tp, tp + fp)}

    return {
        "labels": str(labels),
        "rows": len(rows),
        "by_label_and_verdict": {f"{label}/{kind}": n for (label, kind), n in sorted(table.items())},
        "with_lr006": scores(("finding", "LR006")),
        "without_lr006": scores(("finding",)),
        "misses": misses,
        "false_alarms": false_alarms,
        "history_reported_as_blocking": history_blocking,
    }


def print_score(score: dict[str, Any]) -> None:
    print(f"labels: {score['labels']} ({score['rows']} occurrences)")
    print("  " + ", ".join(f"{key} {n}" for key, n in score["by_label_and_verdict"].items()))
    for name in ("with_lr006", "without_lr006"):
        s = score[name]
        print(
            f"  {name.replace('_', ' ')}: recall {s['recall']} precision {s['precision']} "
            f"(tp {s['tp']}, fn {s['fn']}, fp {s['fp']})"
        )
    for title in ("misses", "false_alarms", "history_reported_as_blocking"):
        if score[title]:
            print(f"  {title.replace('_', ' ')}:")
            for line in score[title]:
                print(f"    {line}")


def parse_legacy(values: Sequence[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep:
            raise SystemExit(f"--legacy expects NAME=NAME_V2, got {value!r}")
        pairs.append((old.strip(), new.strip()))
    return pairs


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", type=Path)
    parser.add_argument("--legacy", action="append", default=[], required=True, metavar="NAME=NAME_V2")
    parser.add_argument("--config", dest="config_file")
    parser.add_argument("--show", choices=("all", "unexplained", "lr006"), default="unexplained")
    parser.add_argument("--time", type=int, default=0, metavar="K", help="also time K cold scans")
    parser.add_argument("--json", type=Path, help="write every classified line to this file")
    parser.add_argument("--labels", type=Path, help="score the scan against this blind-labelled sheet")
    parser.add_argument(
        "--every-file", action="store_true", help="cross-check every text file grep reads, not only .py/.sql"
    )
    args = parser.parse_args(argv)
    root = args.app.resolve()
    legacy = parse_legacy(args.legacy)
    names = [old.rsplit(".", 1)[-1] for old, _ in legacy]
    result = run_scan(root, legacy, args.config_file)
    rows = classify_lines(root, result, grep_lines(root, names, args.every_file), args.config_file)
    by_rule = collections.Counter(f.rule for f in result.findings)
    verdicts = collections.Counter(row["verdict"] for row in rows)
    print(f"{root.name}: {result.files_scanned} files scanned; legacy: {', '.join(names)}")
    print(f"findings: {len(result.findings)} ({', '.join(f'{r} {n}' for r, n in sorted(by_rule.items()))})")
    print(
        f"grep -rniw hit lines ({'every text file' if args.every_file else '.py/.sql'}): {len(rows)}; "
        + ", ".join(f"{v} {n}" for v, n in verdicts.items())
    )
    shown = {
        "all": None,
        "unexplained": {"UNEXPLAINED", "UNLISTED"},
        "lr006": {"UNEXPLAINED", "UNLISTED", "LR006"},
    }[args.show]
    for row in rows:
        if shown is None or row["verdict"] in shown:
            detail = f" ({row['detail']})" if row["detail"] else ""
            print(f"  {row['path']}:{row['line']}: {row['verdict']}{detail}\n      {row['text'][:150]}")
    summary: dict[str, Any] = {"app": root.name, "findings": dict(by_rule), "verdicts": dict(verdicts)}
    if args.labels:
        summary["score"] = score_labels(result, args.labels, root, args.config_file)
        print_score(summary["score"])
    if args.time:
        summary["timing"] = time_scans(root, legacy, args.config_file, args.time)
        timing = summary["timing"]
        print(
            f"timing: median cold scan {timing['scan_median_s']}s, post-pass {timing['post_pass_median_s']}s "
            f"({timing['post_pass_share']:.1%}) over {timing['runs']} runs"
        )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "lines": rows}, indent=2), encoding="utf-8")
    return 1 if verdicts.get("UNEXPLAINED") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
