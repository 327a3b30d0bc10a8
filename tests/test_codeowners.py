from __future__ import annotations

from pathlib import Path

import pytest

from auditor.plan.codeowners import load, parse

RULES = """\
# Lines starting with '#' are comments.
*                       @org/everyone
*.js                    @js-owner        # a trailing comment
/build/logs/            @doctocat
docs/*                  docs@example.com
apps/                   @octocat
/scripts/               @doctocat @octocat
**/logs                 @logs-team
/src/**/generated       @gen
/config/settings.py
CaseSensitive.txt       @case
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ["@org/everyone"]),
        ("web/app.js", ["@js-owner"]),  # unanchored: matches at any depth
        ("build/logs/today.log", ["@logs-team"]),  # the last matching pattern wins (**/logs)
        ("build/logs", ["@logs-team"]),
        ("docs/getting-started.md", ["docs@example.com"]),
        ("docs/build-app/troubleshooting.md", ["@org/everyone"]),  # docs/* is direct children only
        ("apps/web/main.py", ["@octocat"]),  # a directory anywhere
        ("services/apps/x.py", ["@octocat"]),
        ("scripts/deploy.sh", ["@doctocat", "@octocat"]),
        ("tools/scripts/deploy.sh", ["@org/everyone"]),  # anchored to the root
        ("deep/down/logs/x.txt", ["@logs-team"]),
        ("src/generated/a.py", ["@gen"]),  # ** matches zero directories
        ("src/a/b/generated/c.py", ["@gen"]),
        ("other/src/generated/a.py", ["@org/everyone"]),
        ("config/settings.py", []),  # a pattern without owners takes ownership away
        ("CaseSensitive.txt", ["@case"]),
        ("casesensitive.txt", ["@org/everyone"]),
    ],
)
def test_github_matching_rules(path: str, owners: list[str]) -> None:
    assert parse(RULES).owners(path) == owners


def test_no_negation_and_literal_brackets() -> None:
    rules = parse("* @all\n!secret.txt @nobody\nfile[1].txt @brackets\n")
    assert rules.owners("secret.txt") == ["@all"]  # GitHub ignores `!` lines
    assert rules.owners("file[1].txt") == ["@brackets"]
    assert rules.owners("file1.txt") == ["@all"]  # no character ranges


def test_empty_or_missing_file_owns_nothing(tmp_path: Path) -> None:
    assert load(str(tmp_path)).owners("a.py") == []
    assert load(str(tmp_path)).path is None
    assert parse("").owners("a.py") == []


def test_location_precedence(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "CODEOWNERS").write_text("* @docs\n")
    assert load(str(tmp_path)).owners("x.py") == ["@docs"]
    (tmp_path / "CODEOWNERS").write_text("* @root\n")
    assert load(str(tmp_path)).owners("x.py") == ["@root"]
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "CODEOWNERS").write_text("* @github\n")
    loaded = load(str(tmp_path))
    assert loaded.owners("x.py") == ["@github"]  # only the first file found counts
    assert loaded.path == ".github/CODEOWNERS"
