"""The gate as a whole through `audit scan`: --fail-on, the order of the pipeline, reports, the hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from auditor.cli.main import main
from auditor.gate.gate import FAIL_ON

REPO = Path(__file__).resolve().parents[1]
AUDIT_TOML = 'legacy = { "order_line_items" = "order_line_items_v2" }\n'
STATIC = 'def load(cur, i):\n    cur.execute("SELECT id FROM order_line_items WHERE id = %s", (i,))\n'
DYNAMIC = 'def count_rows(cur, table):\n    cur.execute(f"SELECT count(*) FROM {table}")\n'  # LR005, low


def audit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--jobs", "1"], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def codebase(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "audit.toml").write_text(AUDIT_TOML, encoding="utf-8")
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def scan_json(root: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = audit("scan", str(root), "--format", "json", *extra)
    assert code in (0, 1), err
    return code, json.loads(out)


# --- --fail-on --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "fail_on", "expected"),
    [
        ({"s.py": STATIC}, None, 1),  # any, by default without a baseline
        ({"s.py": STATIC}, "any", 1),
        ({"s.py": STATIC}, "never", 0),
        ({"s.py": STATIC}, "high", 1),
        ({"d.py": DYNAMIC}, "high", 0),
        ({"d.py": DYNAMIC}, "medium", 0),
        ({"d.py": DYNAMIC}, "low", 1),
        ({"d.py": DYNAMIC}, "any", 1),
        ({"clean.py": "x = 1\n"}, "any", 0),
    ],
)
def test_fail_on_chooses_the_exit_status(
    tmp_path: Path, files: dict[str, str], fail_on: str | None, expected: int
) -> None:
    root = codebase(tmp_path / "p", files)
    code, report = scan_json(root, *(["--fail-on", fail_on] if fail_on else []))
    assert code == expected
    assert len(report["findings"]) == (0 if "clean.py" in files else 1)  # the report is the same


def test_fail_on_new_needs_a_baseline(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    code, out, err = audit("scan", str(root), "--fail-on", "new")
    assert (code, out) == (2, "")
    assert err == (
        "audit: error: --fail-on new needs --baseline FILE: without a baseline every finding is new\n"
    )


def test_unknown_fail_on_is_a_usage_error(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    code, _, err = audit("scan", str(root), "--fail-on", "sometimes")
    assert code == 2 and "Invalid value for '--fail-on'" in err


def test_cli_choices_match_the_gate() -> None:
    scan = main.get_command(click.Context(main), "scan")
    assert scan is not None
    option = next(p for p in scan.params if p.name == "fail_on")
    assert tuple(option.type.choices) == FAIL_ON  # type: ignore[attr-defined]


def test_fail_on_with_a_baseline_judges_only_new_findings(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    assert audit("baseline", str(root))[0] == 0
    baseline = str(root / ".audit-baseline.json")
    (root / "d.py").write_text(DYNAMIC, encoding="utf-8")  # a new low-confidence finding
    assert scan_json(root, "--baseline", baseline)[0] == 1  # new, by default
    assert scan_json(root, "--baseline", baseline, "--fail-on", "high")[0] == 0  # the new one is low
    assert scan_json(root, "--baseline", baseline, "--fail-on", "never")[0] == 0
    (root / "d.py").unlink()
    assert scan_json(root, "--baseline", baseline, "--fail-on", "any")[0] == 0  # nothing new to report


# --- the pipeline -----------------------------------------------------------------------------------------


def test_suppressions_then_baseline_then_report(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    assert audit("baseline", str(root))[0] == 0
    baseline = str(root / ".audit-baseline.json")
    # suppress the baselined finding: it disappears, so the baseline reports it fixed (not an error)
    (root / "s.py").write_text(
        STATIC.replace("(i,))\n", "(i,))  # audit: ignore[LR001] view kept for the replica\n")
        + "\n\ndef other(cur):\n    cur.execute('SELECT 1 FROM order_line_items')  # audit: ignore\n",
        encoding="utf-8",
    )
    code, report = scan_json(root, "--baseline", baseline)
    assert code == 1  # the bare suppression is a new LR900, and does not silence its line
    assert [(f["line"], f["rule"]) for f in report["findings"]] == [(6, "LR001"), (6, "LR900")]
    assert report["suppressed"] == 1
    assert report["baseline"]["new"] == 2 and len(report["baseline"]["fixed"]) == 1


def test_json_report_keeps_its_contract_and_adds_keys(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    _, plain = scan_json(root)
    contract = ["schema_version", "tool", "catalog", "findings", "diagnostics", "summary", "non_references"]
    assert list(plain) == [*contract, "plan"]
    assert audit("baseline", str(root))[0] == 0
    _, gated = scan_json(root, "--baseline", str(root / ".audit-baseline.json"))
    assert list(gated)[:7] == contract and sorted(list(gated)[7:]) == ["baseline", "plan"]
    assert gated["summary"]["findings"] == 0


def test_reported_fingerprints_are_the_matched_ones(tmp_path: Path) -> None:
    """With one of two identical references baselined, the new one keeps its own fingerprint."""
    line = '    cur.execute("SELECT 1 FROM order_line_items")\n'
    root = codebase(tmp_path / "p", {"s.py": "def f(cur):\n" + line})
    assert audit("baseline", str(root))[0] == 0
    (root / "s.py").write_text("def f(cur):\n" + line + line, encoding="utf-8")
    _, full = scan_json(root)
    _, gated = scan_json(root, "--baseline", str(root / ".audit-baseline.json"))
    assert [f["fingerprint"] for f in gated["findings"]] == [full["findings"][1]["fingerprint"]]


@pytest.mark.parametrize("fmt", ["sarif", "csv", "github", "gitlab", "junit"])
def test_other_formats_report_only_new_findings(tmp_path: Path, fmt: str) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    assert audit("baseline", str(root))[0] == 0
    (root / "t.py").write_text(STATIC.replace("load", "load_again"), encoding="utf-8")
    code, out, _ = audit("scan", str(root), "--format", fmt, "--baseline", str(root / ".audit-baseline.json"))
    assert code == 1
    assert "t.py" in out and "s.py" not in out


def test_text_report_to_a_file(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC, "t.py": STATIC.replace("load", "load_again")})
    assert audit("baseline", str(root))[0] == 0
    (root / "t.py").unlink()
    report = tmp_path / "report.txt"
    args = ("scan", str(root), "--baseline", str(root / ".audit-baseline.json"), "--output", str(report))
    code, out, _ = audit(*args)
    assert (code, out) == (0, "")
    text = report.read_text(encoding="utf-8")
    assert "baseline: 0 new, 1 unchanged, 1 fixed since baseline" in text
    assert "fixed since baseline (1):" in text and "t.py:2 LR001 public.order_line_items" in text


# --- `audit baseline` and the hook ------------------------------------------------------------------------


def test_baseline_command_errors_are_one_line(tmp_path: Path) -> None:
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    code, _, err = audit("baseline", str(root), "--output", str(tmp_path / "missing" / "b.json"))
    assert code == 2 and err.startswith("audit: error: cannot write baseline file") and err.count("\n") == 1
    code, _, err = audit("baseline", str(root), "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and err.startswith("audit: error: config file not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = audit("baseline", str(empty))
    assert code == 2 and "legacy catalog is empty" in err


def test_baseline_command_takes_legacy_names_from_the_command_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "s.py").write_text(STATIC, encoding="utf-8")
    code, _, _ = audit("baseline", str(root), "--legacy", "order_line_items=order_line_items_v2")
    assert code == 0
    entries = json.loads((root / ".audit-baseline.json").read_text(encoding="utf-8"))["findings"]
    assert [e["rule"] for e in entries] == ["LR001"]


def test_pre_commit_hook_definition() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    [hook] = [h for h in hooks if h["id"] == "audit"]
    assert hook["entry"] == "audit scan"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False and hook["always_run"] is True


def test_text_summary_counts_baselined_findings_as_still_blocking(tmp_path: Path) -> None:
    """A legacy view used only by baselined code is not ready to drop, though no finding is new."""
    root = codebase(tmp_path / "p", {"s.py": STATIC})
    assert audit("baseline", str(root))[0] == 0
    code, out, _ = audit("scan", str(root), "--baseline", str(root / ".audit-baseline.json"), "--no-frames")
    assert code == 0
    assert "0 of 1 legacy object(s) ready to drop" in out.replace("\n", " ")
    assert "still block dropping legacy objects" in out.replace("\n", " ")
