from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli.main import main
from tests import pg

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
ROOTS_WITH_LABELS = sorted(p.parent for p in FIXTURES.rglob("expected.txt"))


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def scan_json(root: Path | str, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli("scan", str(root), "--format", "json", "--jobs", "1", "--no-cache", *extra)
    assert code in (0, 1), f"exit {code}: {err}"
    data = json.loads(out)
    assert code == (1 if data["findings"] else 0)
    return data


def finding_lines(data: dict[str, Any]) -> list[str]:
    """Findings in the labels' format: `path:line:column RULE legacy`."""
    return sorted(
        f"{f['path']}:{f['line']}:{f['column']} {f['rule']} {f['legacy'] or '-'}" for f in data["findings"]
    )


def expected_lines(root: Path) -> list[str]:
    lines = (root / "expected.txt").read_text(encoding="utf-8").splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """A small scan root: ``files`` maps relative paths to their text or bytes."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def cluster() -> Iterator[pg.Cluster]:
    """One throwaway PostgreSQL 15 cluster for the tests that need one (they skip when it cannot start)."""
    started = pg.start_cluster()
    try:
        yield started
    finally:
        started.stop()
