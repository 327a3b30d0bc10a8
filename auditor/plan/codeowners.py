"""CODEOWNERS, with GitHub's rules: the first of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS``
counts; the last matching pattern wins; patterns follow gitignore syntax with GitHub's exceptions (no ``!``
negation, no ``[ ]`` ranges, ``docs/*`` matches direct children only, matching is case sensitive).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_UNESCAPED_SPACE = re.compile(r"(?<!\\)\s+")


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]
    children_only: bool  # "dir/*": direct children, not files further down

    def matches(self, path: str) -> bool:
        match = self.regex.match(path)
        if match is None:
            return False
        return not (self.children_only and match.groupdict().get("ps_d"))


@dataclass(frozen=True, slots=True)
class CodeOwners:
    path: str | None  # the file the rules came from, relative to the root; None when there is none
    rules: tuple[Rule, ...] = ()

    def owners(self, path: str) -> list[str]:
        """The owners of ``path`` (relative, "/"-separated): the last matching rule's, [] when none."""
        path = path.replace(os.sep, "/").lstrip("/")
        for rule in reversed(self.rules):
            if rule.matches(path):
                return list(rule.owners)
        return []

    def __call__(self, path: str) -> list[str]:
        return self.owners(path)


def parse(text: str, path: str | None = None) -> CodeOwners:
    """Rules from CODEOWNERS text; lines GitHub would reject (``!pattern``) are skipped."""
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("!"):
            continue
        fields = _UNESCAPED_SPACE.split(line)
        pattern = fields[0]
        owners: list[str] = []
        for field in fields[1:]:
            if field.startswith("#"):
                break  # a trailing comment
            owners.append(field)
        regex = _compile(pattern)
        if regex is None:
            continue
        children_only = pattern.endswith("/*") and not pattern.endswith("/**/*")
        rules.append(Rule(pattern, tuple(owners), number, regex, children_only))
    return CodeOwners(path, tuple(rules))


def _compile(pattern: str) -> re.Pattern[str] | None:
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern  # only where CODEOWNERS has rules

    # GitHub does not support character ranges: brackets are literal
    literal = pattern.replace("[", "\\[").replace("]", "\\]")
    compiled = GitIgnoreSpecPattern(literal)
    regex = compiled.regex
    if regex is None:
        return None
    return re.compile(regex.pattern) if not isinstance(regex, re.Pattern) else regex


def load(root: str) -> CodeOwners:
    """The CODEOWNERS of the repository at ``root`` (an empty one when there is no file)."""
    for location in LOCATIONS:
        full = os.path.join(root, location)
        if os.path.isfile(full):
            with open(full, encoding="utf-8", errors="replace") as handle:
                return parse(handle.read(), location)
    return CodeOwners(None)
