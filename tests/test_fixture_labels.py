"""Every fixture codebase is scanned through the CLI and compared with its hand-made labels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOTS_WITH_LABELS, expected_lines, finding_lines, scan_json

ROOTS = ROOTS_WITH_LABELS


@pytest.mark.parametrize("root", ROOTS, ids=[str(p.relative_to(FIXTURES)) for p in ROOTS])
def test_findings_match_labels(root: Path, tmp_path: Path) -> None:
    # a fixture is a project of its own: outside our git work tree, where its files are all tracked
    copy = tmp_path / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".audit_cache"))
    data = scan_json(copy)
    found = finding_lines(data)
    expected = expected_lines(root)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    report = f"missing (recall): {missing}\nunexpected (precision): {unexpected}"
    assert not missing and not unexpected, report
