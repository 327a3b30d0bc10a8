"""The baseline: the findings a team accepts today, so that only new ones fail the build.

The file is JSON meant to be read in a code review: one entry per finding, sorted by place, indent 2.
Findings match entries by fingerprint as a multiset (two identical references are two entries); when
a fingerprint occurs in several files, entries of the finding's own path are matched first, so the
entry reported as fixed is the one whose reference really went away.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from auditor.core.model import Finding
from auditor.core.output import write_atomic
from auditor.reports.common import TOOL_NAME, TOOL_VERSION

SCHEMA_VERSION = 1
DEFAULT_BASELINE = ".audit-baseline.json"
SNIPPET_LENGTH = 120  # characters of the source line kept in an entry


class BaselineError(Exception):
    """A baseline file that cannot be read or is not a baseline: one line, exit status 2."""


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    fingerprint: str
    rule: str
    legacy: str | None
    path: str
    line: int
    snippet: str

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.path, self.line, self.rule, self.fingerprint, self.snippet)


@dataclass(frozen=True, slots=True)
class Baseline:
    entries: tuple[BaselineEntry, ...]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The current findings against a baseline; ``new`` and ``unchanged`` index the findings."""

    new: tuple[int, ...]
    unchanged: tuple[int, ...]
    fixed: tuple[BaselineEntry, ...]  # entries no current finding matched, sorted


def entry_for(finding: Finding, fingerprint: str) -> BaselineEntry:
    return BaselineEntry(
        fingerprint=fingerprint,
        rule=finding.rule,
        legacy=str(finding.legacy) if finding.legacy is not None else None,
        path=finding.path,
        line=finding.span.line,
        snippet=shorten(finding.snippet),
    )


def baseline_from(findings: Sequence[Finding], fingerprints: Sequence[str]) -> Baseline:
    """A baseline holding every finding (``fingerprints`` parallel to ``findings``)."""
    entries = (entry_for(f, fp) for f, fp in zip(findings, fingerprints, strict=True))
    return Baseline(tuple(sorted(entries, key=BaselineEntry.sort_key)))


def shorten(snippet: str) -> str:
    return snippet if len(snippet) <= SNIPPET_LENGTH else snippet[: SNIPPET_LENGTH - 1] + "…"


def compare(findings: Sequence[Finding], fingerprints: Sequence[str], baseline: Baseline) -> Comparison:
    """Match findings to baseline entries by fingerprint, one to one, same path first."""
    if len(fingerprints) != len(findings):
        raise ValueError(f"{len(fingerprints)} fingerprints for {len(findings)} findings")
    available: dict[str, list[BaselineEntry]] = defaultdict(list)
    for entry in sorted(baseline.entries, key=BaselineEntry.sort_key):
        available[entry.fingerprint].append(entry)
    order = sorted(range(len(findings)), key=lambda i: (findings[i].path, findings[i].span.line, i))
    matches: dict[int, BaselineEntry] = {}
    # First pass: same fingerprint and same path; second pass: same fingerprint anywhere (moved code).
    for same_path in (True, False):
        for index in order:
            if index in matches:
                continue
            candidates = available.get(fingerprints[index], [])
            for position, entry in enumerate(candidates):
                if not same_path or entry.path == findings[index].path:
                    matches[index] = candidates.pop(position)
                    break
    fixed = sorted((e for entries in available.values() for e in entries), key=BaselineEntry.sort_key)
    return Comparison(
        new=tuple(i for i in range(len(findings)) if i not in matches),
        unchanged=tuple(sorted(matches)),
        fixed=tuple(fixed),
    )


def ratchet(baseline: Baseline, comparison: Comparison) -> Baseline:
    """The baseline without its fixed entries; it never gains an entry (adding needs `audit baseline`)."""
    fixed: dict[BaselineEntry, int] = defaultdict(int)
    for entry in comparison.fixed:
        fixed[entry] += 1
    kept = []
    for entry in baseline.entries:
        if fixed[entry] > 0:
            fixed[entry] -= 1
        else:
            kept.append(entry)
    return Baseline(tuple(kept))


# --- the file -----------------------------------------------------------------------------------------


def to_text(baseline: Baseline) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": TOOL_VERSION},
        "findings": [entry_json(e) for e in sorted(baseline.entries, key=BaselineEntry.sort_key)],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_baseline(path: str, baseline: Baseline) -> None:
    write_atomic(path, to_text(baseline))


def entry_json(entry: BaselineEntry) -> dict[str, Any]:
    return {
        "fingerprint": entry.fingerprint,
        "rule": entry.rule,
        "legacy": entry.legacy,
        "path": entry.path,
        "line": entry.line,
        "snippet": entry.snippet,
    }


def read_baseline(path: str) -> Baseline | BaselineError:
    """The baseline in ``path``, or the reason it cannot be used."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return BaselineError(f"baseline file not found: {path} (create it with `audit baseline`)")
    except (OSError, UnicodeDecodeError) as exc:
        return BaselineError(f"cannot read baseline file {path}: {getattr(exc, 'strerror', None) or exc}")
    try:
        return parse_baseline(text)
    except BaselineError as exc:
        return BaselineError(f"{path}: {exc}")


def parse_baseline(text: str) -> Baseline:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"not a baseline: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict) or "findings" not in document:
        raise BaselineError("not a baseline: expected an object with `schema_version` and `findings`")
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BaselineError(
            f"unsupported baseline schema_version {version!r} (this tool reads {SCHEMA_VERSION})"
        )
    items = document["findings"]
    if not isinstance(items, list):
        raise BaselineError("`findings` must be a list")
    return Baseline(tuple(_parse_entry(item, number) for number, item in enumerate(items, 1)))


_FIELDS: dict[str, tuple[type, ...]] = {
    "fingerprint": (str,),
    "rule": (str,),
    "legacy": (str, type(None)),
    "path": (str,),
    "line": (int,),
    "snippet": (str,),
}


def _parse_entry(item: Any, number: int) -> BaselineEntry:
    if not isinstance(item, dict):
        raise BaselineError(f"finding #{number} is not an object")
    for key, types in _FIELDS.items():
        value = item.get(key)
        if key not in item or not isinstance(value, types) or isinstance(value, bool):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise BaselineError(f"finding #{number}: `{key}` must be {expected}")
    return BaselineEntry(
        fingerprint=item["fingerprint"],
        rule=item["rule"],
        legacy=item["legacy"],
        path=item["path"],
        line=item["line"],
        snippet=item["snippet"],
    )
