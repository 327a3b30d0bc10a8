"""File discovery: .py and .sql files under the root, honouring .gitignore, exclude and symlinks."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pathspec

from auditor.core.model import Diagnostic

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "site-packages",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".audit_cache",
        ".eggs",
    }
)
SCANNED_SUFFIXES = (".py", ".sql")


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the root, "/"-separated
    full_path: str


@dataclass
class Discovery:
    files: list[SourceFile]
    diagnostics: list[Diagnostic]


def discover(root: str, exclude: Sequence[str] = ()) -> Discovery:
    files: list[SourceFile] = []
    diagnostics: list[Diagnostic] = []
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
    root = os.path.abspath(root)
    for file in _walk(root, "", [], set(), diagnostics):
        if excluded is not None and excluded.match_file(file.path):
            continue
        files.append(file)
    files.sort(key=lambda f: f.path)
    return Discovery(files, diagnostics)


def _walk(
    full_dir: str,
    rel_dir: str,
    ignores: list[tuple[str, pathspec.GitIgnoreSpec]],
    seen_dirs: set[tuple[int, int]],
    diagnostics: list[Diagnostic],
) -> Iterator[SourceFile]:
    try:
        stat = os.stat(full_dir)
    except OSError as exc:
        diagnostics.append(_dir_error(rel_dir, exc))
        return
    key = (stat.st_dev, stat.st_ino)
    if key in seen_dirs:
        diagnostics.append(
            Diagnostic(rel_dir or ".", None, "symlink-loop", "directory already visited through a symlink")
        )
        return
    seen_dirs.add(key)
    ignores = _with_gitignore(full_dir, rel_dir, ignores)
    try:
        entries = sorted(os.scandir(full_dir), key=lambda e: e.name)
    except OSError as exc:
        diagnostics.append(_dir_error(rel_dir, exc))
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()
        except OSError as exc:
            diagnostics.append(_dir_error(rel, exc))
            continue
        if entry.is_symlink() and not is_dir and not is_file:
            if entry.name.endswith(SCANNED_SUFFIXES) or _is_loop(entry.path):
                diagnostics.append(Diagnostic(rel, None, "symlink-loop", "broken or looping symlink skipped"))
            continue
        if is_dir:
            if entry.name in SKIPPED_DIRS or _ignored(ignores, rel, True):
                continue
            if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                continue  # a virtualenv under its own name
            yield from _walk(entry.path, rel, ignores, seen_dirs, diagnostics)
        elif is_file and entry.name.endswith(SCANNED_SUFFIXES) and not _ignored(ignores, rel, False):
            yield SourceFile(rel, entry.path)


def _is_loop(path: str) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == 40
    return False


def _dir_error(rel: str, exc: OSError) -> Diagnostic:
    kind = "symlink-loop" if exc.errno == 40 else "unreadable"
    return Diagnostic(rel or ".", None, kind, f"cannot read: {exc.strerror or exc}")


def _with_gitignore(
    full_dir: str, rel_dir: str, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]
) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
    try:
        with open(os.path.join(full_dir, ".gitignore"), encoding="utf-8", errors="replace") as handle:
            spec = pathspec.GitIgnoreSpec.from_lines(handle)
    except OSError:
        return ignores
    return [*ignores, (rel_dir, spec)]


def _ignored(ignores: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str, is_dir: bool) -> bool:
    # Each .gitignore applies to paths relative to its own directory; deeper files may re-include.
    ignored = False
    for base, spec in ignores:
        sub = rel[len(base) + 1 :] if base else rel
        if is_dir:
            sub += "/"
        result = spec.check_file(sub)
        if result.include is not None:
            ignored = result.include
    return ignored
