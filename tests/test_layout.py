"""The package layout is the pipeline: a stage imports only the stages before it, never a later one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"

# pipeline order; `scan` is the module auditor/scan.py that runs the stages up to resolution
STAGES = (
    "core",
    "catalog",
    "sql",
    "discover",
    "python",
    "database",
    "scan",
    "plan",
    "reports",
    "gate",
    "cli",
)


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "auditor" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in STAGES else None


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_module_belongs_to_a_stage() -> None:
    loose = [
        p.name
        for p in PACKAGE.glob("*.py")
        if p.stem not in ("__init__", "__main__") and p.stem not in STAGES
    ]
    assert loose == []


def test_no_stage_imports_a_later_stage() -> None:
    backwards: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _stage("auditor." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        if own is None:
            continue
        for module in _imports(path):
            other = _stage(module)
            if other is not None and STAGES.index(other) > STAGES.index(own):
                backwards.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert backwards == []
