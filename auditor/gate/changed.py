"""Lines changed since a git ref: committed, staged and unstaged edits, and untracked files as a whole.

Runs ``git diff --unified=0 REF`` (the working tree against REF) and ``git ls-files --others
--exclude-standard`` in the scan root, with ``--relative`` so paths are relative to the scan root like
the findings' paths. A renamed file without other edits has no changed lines.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(?P<start>\d+)(?:,(?P<count>\d+))? @@")
_GIT_TIMEOUT = 120  # seconds


class ChangedError(Exception):
    """The changed lines cannot be known (not a git repository, unknown ref, git missing)."""


@dataclass(frozen=True)
class ChangedLines:
    """Changed lines per path (relative to the scan root); ``whole`` files count as changed throughout."""

    ref: str
    lines: dict[str, frozenset[int]] = field(default_factory=dict)
    whole: frozenset[str] = frozenset()

    def touches(self, path: str, first: int, last: int) -> bool:
        """Whether any line of ``first``..``last`` of ``path`` changed."""
        if path in self.whole:
            return True
        changed = self.lines.get(path)
        return bool(changed) and any(line in changed for line in range(first, max(first, last) + 1))


def changed_lines(root: str, ref: str) -> ChangedLines | ChangedError:
    """The lines changed in the working tree under ``root`` since ``ref``, or why they cannot be known."""
    if ref.startswith("-"):
        return ChangedError(f"not a git revision: {ref!r}")
    inside = _git(root, "rev-parse", "--is-inside-work-tree")
    if isinstance(inside, ChangedError):
        return ChangedError(f"--changed-since needs a git repository: {root} is not inside one")
    verified = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if isinstance(verified, ChangedError):
        return ChangedError(f"unknown git revision {ref!r} (in {root})")
    diff = _git(
        root,
        "-c",
        "core.quotePath=off",
        "diff",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--find-renames",
        "--relative",
        verified.strip(),
        "--",
    )
    if isinstance(diff, ChangedError):
        return diff
    untracked = _git(root, "-c", "core.quotePath=off", "ls-files", "--others", "--exclude-standard", "-z")
    if isinstance(untracked, ChangedError):
        return untracked
    return ChangedLines(
        ref=ref,
        lines=parse_diff(diff.splitlines()),
        whole=frozenset(p for p in untracked.split("\0") if p),
    )


def parse_diff(lines: Iterable[str]) -> dict[str, frozenset[int]]:
    """Changed line numbers of the new side of a ``--unified=0`` diff, per new path."""
    changed: dict[str, set[int]] = {}
    current: set[int] | None = None
    in_header = False  # between `diff --git` and the first hunk: `+++ ` names the file, not content
    for line in lines:
        if line.startswith("diff --git "):
            in_header, current = True, None
        elif in_header and line.startswith("+++ "):
            target = line[4:].removesuffix("\t")  # git adds a tab after names with spaces
            if target == "/dev/null":
                current = None  # a deleted file has no lines left
            else:
                path = unquote(target)
                current = changed.setdefault(path[2:] if path.startswith("b/") else path, set())
        elif line.startswith("@@"):
            in_header = False
            match = _HUNK.match(line)
            if match and current is not None:
                start = int(match.group("start"))
                count = int(match.group("count")) if match.group("count") is not None else 1
                current.update(range(start, start + count))
    return {path: frozenset(lines) for path, lines in changed.items()}


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(path: str) -> str:
    """Undo git's C-style quoting of unusual file names: ``"b/a\\tb.py"``, octal-escaped bytes."""
    if not (len(path) >= 2 and path.startswith('"') and path.endswith('"')):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            following = body[i + 1]
            if following in "01234567" and i + 4 <= len(body):
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            if following in _ESCAPES:
                out.append(_ESCAPES[following])
            else:
                out.extend(following.encode("utf-8", "surrogateescape"))
            i += 2
        else:
            out.extend(char.encode("utf-8", "surrogateescape"))
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _git(root: str, *args: str) -> str | ChangedError:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        return ChangedError("--changed-since needs git, and `git` was not found")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ChangedError(f"cannot run git: {exc}")
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        command = next(a for a in args if not a.startswith("-") and "=" not in a)
        return ChangedError(f"git {command} failed: {message[-1] if message else completed.returncode}")
    return completed.stdout.decode("utf-8", "surrogateescape")
