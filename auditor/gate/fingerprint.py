"""Stable identities for findings, so reports can be compared across commits and suppressed by id.

A fingerprint hashes only what identifies the reference itself, chosen so that it survives the edits
that do not change the reference:

- rule and legacy name: a different rule or legacy object is a different problem;
- the block's qualified name without its module/path part: survives moving the function within the
  file and renaming or moving the file (the module part is derived from the path);
- the finding's own source line with all whitespace removed: survives lines inserted above (no line
  numbers), edits elsewhere, re-indentation and respacing (``f( a=1 )`` vs ``f(a = 1)``), yet any
  other change to the reference's line changes it;
- the occurrence index among findings sharing all of the above in the same file, in source order:
  keeps two identical references in one block apart.

The path is deliberately left out so that a renamed file keeps its findings' fingerprints.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence

from auditor.core.model import Finding, ObjectName

FINGERPRINT_LENGTH = 16  # hex characters of the sha256 digest


def qualified_name(block: str) -> str:
    """The block's name inside its file: ``"pkg.mod:Class.method"`` -> ``"Class.method"``."""
    _, sep, name = block.partition(":")
    return name if sep else block


def normalise_line(text: str) -> str:
    """The source line without any whitespace, so a formatter's respacing leaves it unchanged."""
    return "".join(text.split())


def fingerprint(rule: str, legacy: ObjectName | None, block: str, snippet: str, occurrence: int) -> str:
    """The fingerprint of one finding given its identifying fields (see the module docstring)."""
    key = [rule, str(legacy) if legacy is not None else "", qualified_name(block), normalise_line(snippet)]
    # JSON keeps the fields unambiguous whatever characters they contain.
    payload = json.dumps([*key, occurrence], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def fingerprints(findings: Sequence[Finding]) -> list[str]:
    """Fingerprints parallel to ``findings`` (same order and length); the input is not reordered."""
    order = sorted(range(len(findings)), key=lambda i: _source_order(findings[i]))
    seen: Counter[tuple[str, str, str, str, str]] = Counter()
    result = [""] * len(findings)
    for index in order:
        finding = findings[index]
        legacy = str(finding.legacy) if finding.legacy is not None else ""
        group = (
            finding.path,
            finding.rule,
            legacy,
            qualified_name(finding.block),
            normalise_line(finding.snippet),
        )
        occurrence = seen[group]
        seen[group] += 1
        result[index] = fingerprint(finding.rule, finding.legacy, finding.block, finding.snippet, occurrence)
    return result


def _source_order(finding: Finding) -> tuple[str, int, int, int, int, str]:
    span = finding.span
    return (finding.path, span.line, span.column, span.end_line, span.end_column, finding.rule)
