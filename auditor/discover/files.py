"""File discovery: .py and .sql files under the root (and every other file but binary ones, for its mentions
of legacy names), honouring .gitignore, exclude and symlinks."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from auditor.core.model import Diagnostic, LeftOut
from auditor.core.source import starts_binary
from auditor.discover.cache import RACY_NS, ScanCache, file_status
from auditor.discover.languages import BINARY_SUFFIXES, listed

if TYPE_CHECKING:
    import pathspec  # imported where rules are read: a re-scan that remembers its walk needs none

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
# listed too: every other file but binary ones (code in other languages, configuration, documentation,
# files of unknown kinds), whose mentions of legacy names are reported (see languages.py)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the root, "/"-separated; a name that is not UTF-8 shows its bytes as \\xNN
    full_path: str


@dataclass
class Discovery:
    files: list[SourceFile]  # .py and .sql: analysed
    diagnostics: list[Diagnostic]
    left_out: list[LeftOut] = field(default_factory=list)
    git: bool = False  # the tracked files came from git's index
    other: list[SourceFile] = field(default_factory=list)  # every other file but binary ones: mentions only


_GIT_TIMEOUT = 60  # seconds: a scan never hangs on git (it blocks on a FIFO named .gitignore)


def discover(root: str, exclude: Sequence[str] = (), memo: ScanCache | None = None) -> Discovery:
    """The .py and .sql files under ``root``, and apart (``other``) every other file but binary ones.

    In a git work tree every tracked file is scanned: .gitignore rules apply only to untracked files, as
    for git itself. Outside git (or without a git binary) .gitignore rules apply to every file. ``exclude``
    applies in both cases. With a ``memo``, a walk whose directories and .gitignore files all have the
    status they had when it last ran is not done again: a directory's entries change only with its status.
    """
    root = os.path.abspath(root)
    walk = _remembered_walk(root, memo) if memo is not None else None
    if walk is None:
        walk = _Walk(time.time_ns())
        if memo is not None and memo.directory is not None:  # written by every scan: never walked
            walk.skip = os.path.normpath(memo.directory)
        walk.files = list(_walk_tree(root, walk))
        if memo is not None and not walk.diagnostics:
            # a broken symlink or an unreadable folder may be mended outside the tree, which changes no
            # status the walk recorded: such a walk is never reused
            memo.put_stage("walk", root, walk.state())
    diagnostics = list(walk.diagnostics)
    left_out = list(walk.left_out)
    ignored = list(walk.ignored)
    walked = {file.path: file for file in walk.files}
    tracked = _git_tracked(root)
    if tracked is not None:
        linked = {entry.path.rstrip("/") for entry in left_out if entry.reason == "linked"}
        for raw in tracked:
            if os.fsdecode(raw) in linked:
                continue  # a tracked link to what the scan reads at its own path
            file = _tracked_file(root, raw, diagnostics, left_out)
            if file is not None:
                walked.setdefault(file.path, file)
        holding = _parents(walked) if any(p.endswith("/") for p in ignored) else set()
        ignored = [p for p in ignored if p not in walked and p not in holding]  # tracked files are read
    left_out.extend(LeftOut(p, "ignored") for p in ignored)
    excluded = _spec(exclude) if exclude else None
    files: list[SourceFile] = []
    other: list[SourceFile] = []
    for path in sorted(walked):
        if excluded is not None and excluded.match_file(path):
            left_out.append(LeftOut(path, "excluded"))
        else:
            (files if path.endswith(SCANNED_SUFFIXES) else other).append(walked[path])
    diagnostics.extend(
        _name_diagnostic(f.path) for f in (*files, *other) if f.path != f.full_path[len(root) + 1 :]
    )
    left_out.sort(key=lambda entry: entry.path)
    return Discovery(files, diagnostics, left_out, tracked is not None, other)


def _parents(paths: Iterable[str]) -> set[str]:
    """Every directory ("a/", "a/b/") that holds one of ``paths``."""
    parents: set[str] = set()
    for path in paths:
        slash = path.find("/")
        while slash >= 0:
            parents.add(path[: slash + 1])
            slash = path.find("/", slash + 1)
    return parents


def display_path(path: str) -> str:
    """A path as text: bytes of a name that is not valid UTF-8 (surrogate-escaped) written as \\xNN."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


def _name_diagnostic(path: str) -> Diagnostic:
    return Diagnostic(
        path, None, "file-name", "the file name is not valid UTF-8; its bytes are shown as \\xNN"
    )


def _git_tracked(root: str) -> list[bytes] | None:
    """The tracked paths under ``root`` (relative to it), or None outside a git work tree."""
    try:
        done = subprocess.run(
            ["git", "-C", root, "ls-files", "--cached", "-z"],
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    binary = tuple(s.encode() for s in BINARY_SUFFIXES)
    return [p for p in done.stdout.split(b"\0") if p and not p.lower().endswith(binary)]


def _tracked_file(
    root: str, raw: bytes, diagnostics: list[Diagnostic], left_out: list[LeftOut]
) -> SourceFile | None:
    """A tracked path as a SourceFile when it is a regular file in the work tree (deleted ones are gone)."""
    name = os.fsdecode(raw)
    full = os.path.join(root, name)
    path = display_path(name)
    try:
        mode = os.stat(full).st_mode
    except OSError as exc:
        if exc.errno == 40:
            diagnostics.append(Diagnostic(path, None, "symlink-loop", "broken or looping symlink skipped"))
        return None
    if not stat.S_ISREG(mode):
        left_out.append(LeftOut(path, "not-a-file"))
        return None
    return SourceFile(path, full)


@dataclass
class _Walk:
    """What one walk of the tree found, and the status of what it read to find it."""

    started_ns: int
    files: list[SourceFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    # every directory listed (or skipped as a virtualenv) and every .gitignore read -> its status
    statuses: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    skip: str = ""  # the scan cache's own directory
    # links to folders and files inside the tree, followed after the walk: (full path, path, .gitignores)
    links: list[tuple[str, str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = field(default_factory=list)

    def state(self) -> tuple[object, ...]:
        """Plain values only (the cache's unpickler admits no discovery class)."""
        return (
            self.started_ns,
            self.statuses,
            tuple((f.path, f.full_path) for f in self.files),
            tuple(self.diagnostics),
            tuple(self.ignored),
            tuple((e.path, e.reason) for e in self.left_out),
        )


def _remembered_walk(root: str, memo: ScanCache) -> _Walk | None:
    """The last walk of ``root``, when every directory and .gitignore it read has the same status, and
    none was modified so close to that walk that its status could hide a change (git's racy-clean rule)."""
    state = memo.stage("walk", root)
    try:
        started, statuses, files, diagnostics, ignored, left_out = state  # type: ignore[misc]
        for path, status in statuses.items():
            now = os.stat(path)
            if file_status(now) != status or now.st_mtime_ns >= started - RACY_NS:
                return None
        texts = [*ignored, *(t for pair in (*files, *left_out) for t in pair)]
        if not all(isinstance(t, str) for t in texts) or not isinstance(started, int):
            return None
        walk = _Walk(started, statuses=statuses, ignored=list(ignored))
        walk.files = [SourceFile(path, full) for path, full in files]
        walk.diagnostics = [d for d in diagnostics if isinstance(d, Diagnostic)]
        walk.left_out = [LeftOut(path, reason) for path, reason in left_out]
    except (OSError, AttributeError, TypeError, ValueError):  # gone, changed, or not the shape written
        return None
    return walk


def _walk_tree(root: str, walk: _Walk) -> Iterator[SourceFile]:
    """Every file under ``root``, each at its own path. A symlink to a folder or file inside the tree is
    followed after the walk, and only to what the walk did not reach (a folder under an ignored one, say):
    else every file under it would be scanned twice, and reported at the link's path rather than where it
    lies (a packaging folder that links `src/`; grep -r, ripgrep and git do not follow such links)."""
    seen_dirs: set[tuple[int, int]] = set()
    real_root = os.path.realpath(root)
    found: set[str] = set()
    for file in _walk(root, "", [], seen_dirs, walk, real_root):
        found.add(file.path)
        yield file
    while walk.links:
        full, rel, ignores = walk.links.pop(0)
        target = os.path.realpath(full)
        try:
            status = os.stat(full)
        except OSError as exc:
            walk.diagnostics.append(_dir_error(rel, exc))
            continue
        if not stat.S_ISDIR(status.st_mode):
            if os.path.relpath(target, real_root).replace(os.sep, "/") in found:
                walk.left_out.append(LeftOut(rel, "linked"))
            else:
                found.add(rel)
                yield SourceFile(rel, full)
        elif (status.st_dev, status.st_ino) not in seen_dirs:
            for file in _walk(full, rel, ignores, seen_dirs, walk, real_root):
                found.add(file.path)
                yield file
        elif _within(os.path.realpath(os.path.dirname(full)), target):
            walk.diagnostics.append(Diagnostic(rel, None, "symlink-loop", "a link to a folder that holds it"))
        else:
            walk.left_out.append(LeftOut(rel + "/", "linked"))


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(
    full_dir: str,
    rel_dir: str,
    ignores: list[tuple[str, pathspec.GitIgnoreSpec]],
    seen_dirs: set[tuple[int, int]],
    walk: _Walk,
    root: str,  # its real path: links that lead under it are followed after the walk
) -> Iterator[SourceFile]:
    diagnostics, ignored, left_out = walk.diagnostics, walk.ignored, walk.left_out
    try:
        dir_stat = os.stat(full_dir)
    except OSError as exc:
        diagnostics.append(_dir_error(rel_dir, exc))
        return
    walk.statuses[full_dir] = file_status(dir_stat)
    key = (dir_stat.st_dev, dir_stat.st_ino)
    if key in seen_dirs:
        diagnostics.append(
            Diagnostic(rel_dir or ".", None, "symlink-loop", "directory already visited through a symlink")
        )
        return
    seen_dirs.add(key)
    ignores = _with_gitignore(full_dir, rel_dir, ignores, walk.statuses)
    try:
        entries = sorted(os.scandir(full_dir), key=lambda e: e.name)
    except OSError as exc:
        diagnostics.append(_dir_error(rel_dir, exc))
        return
    for entry in entries:
        rel = f"{rel_dir}/{display_path(entry.name)}" if rel_dir else display_path(entry.name)
        try:
            is_dir = entry.is_dir()
            is_file = not is_dir and entry.is_file()  # a regular file (or a symlink to one): never a FIFO
        except OSError as exc:
            diagnostics.append(_dir_error(rel, exc))
            continue
        if entry.is_symlink() and not is_dir and not is_file:
            if listed(entry.name) or _is_loop(entry.path):
                diagnostics.append(Diagnostic(rel, None, "symlink-loop", "broken or looping symlink skipped"))
            continue
        if is_dir:
            if entry.name in SKIPPED_DIRS or entry.path == walk.skip:
                continue
            if _ignored(ignores, rel, True):
                ignored.append(rel + "/")
                continue
            if entry.is_symlink() and _within(os.path.realpath(entry.path), root):
                walk.links.append((entry.path, rel, ignores))  # followed after the walk, if at all
                continue
            if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                with contextlib.suppress(OSError):  # no longer one when its listing changes
                    walk.statuses[entry.path] = file_status(os.stat(entry.path))
                continue  # a virtualenv under its own name
            yield from _walk(entry.path, rel, ignores, seen_dirs, walk, root)
        elif listed(entry.name):
            if not is_file:
                left_out.append(LeftOut(rel, "not-a-file"))
            elif _ignored(ignores, rel, False):
                ignored.append(rel)
            elif entry.is_symlink() and _within(os.path.realpath(entry.path), root):
                walk.links.append((entry.path, rel, ignores))  # read here only when the walk did not
            else:
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
    full_dir: str,
    rel_dir: str,
    ignores: list[tuple[str, pathspec.GitIgnoreSpec]],
    statuses: dict[str, tuple[int, int, int, int]],
) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
    path = os.path.join(full_dir, ".gitignore")
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            return ignores  # a FIFO or device would block or never end: only a regular file holds rules
        with open(path, encoding="utf-8", errors="replace") as handle:
            spec = _spec(handle)
    except OSError:
        return ignores
    statuses[path] = file_status(status)  # edited in place, it changes no directory's status
    return [*ignores, (rel_dir, spec)]


def _spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


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


def unread_reason(file: SourceFile, max_bytes: int) -> str | None:
    """Why the scan would leave ``file`` out unread (too large, binary), without reading all of it."""
    try:
        if os.stat(file.full_path).st_size > max_bytes:
            return "too-large"
        return "binary" if starts_binary(file.full_path) else None
    except OSError:
        return None  # the scan reports it as unreadable
