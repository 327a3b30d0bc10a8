"""The HTML plan: one self-contained file, checked in a real headless browser (Chromium)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_plan import write_chain_project

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A plan with one ready and one blocked object owned by different teams."""
    root = write_chain_project(tmp_path / "chain", with_code=True)
    (root / "CODEOWNERS").write_text("* @team-db\napp/ @team-a\n")
    (root / "app" / "other.py").write_text('def f(cur):\n    cur.execute("SELECT 1 FROM ghosts")\n')
    output = tmp_path / "plan.html"
    code, _, err = run_cli(
        "plan", str(root), "--format", "html", "-o", str(output), "--legacy", "ghosts=spirits"
    )
    assert code == 0, err
    return output


def test_html_is_self_contained(report: Path) -> None:
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>")
    for tag, attrs in elements(html):
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"(https?:)?//", value), f"<{tag} {name}={value!r}> fetches from the network"
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), "external stylesheet"
    assert "<style>" in html and "<script>" in html and "<svg" in html
    kinds = {attrs.get("data-kind") for tag, attrs in elements(html) if tag == "g"}
    assert {"legacy", "block", "file", "relation", "db-object"} <= kinds


def _dump_dom(browser: str, url: str, profile: Path) -> str:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _body(dom: str) -> dict[str, str | None]:
    return next(attrs for tag, attrs in elements(dom) if tag == "body")


def _sections(dom: str) -> dict[str, bool]:
    """legacy object -> shown (no ``hidden`` attribute)."""
    return {
        str(attrs["data-object"]): "hidden" not in attrs
        for tag, attrs in elements(dom)
        if tag == "section" and "data-object" in attrs
    }


@pytest.mark.skipif(_browser() is None, reason="no Chromium (apt-get install chromium)")
def test_filters_run_in_a_real_browser(report: Path, tmp_path: Path) -> None:
    browser = _browser()
    assert browser is not None
    url = report.resolve().as_uri()

    dom = _dump_dom(browser, url, tmp_path / "p1")
    assert _body(dom)["data-filtered"] == "true"  # the script ran
    assert _sections(dom) == {"public.ghosts": True, "public.items": True, "public.labels": True}

    dom = _dump_dom(browser, url + "#owner=@team-a", tmp_path / "p2")
    body = _body(dom)
    assert body["data-filter-owner"] == "@team-a"
    # app/ is @team-a's: the labels query blocks labels, and through it items; ghosts is blocked elsewhere too
    assert _sections(dom) == {"public.ghosts": True, "public.items": True, "public.labels": True}
    rows = [a for t, a in elements(dom) if t == "tr" and "data-blocker" in a]
    hidden = [a for a in rows if "hidden" in a]
    assert rows and hidden  # the migration's blocker rows belong to @team-db, not @team-a

    dom = _dump_dom(browser, url + "#owner=@team-db&status=blocked", tmp_path / "p3")
    assert _sections(dom) == {"public.ghosts": False, "public.items": True, "public.labels": False}
    assert _body(dom)["data-visible"] == "public.items"
    assert re.search(r'id="visible-count">1<', dom)
    dimmed = {a.get("data-id") for t, a in elements(dom) if t == "g" and "dim" in (a.get("class") or "")}
    assert "legacy:public.ghosts" in dimmed and "legacy:public.items" not in dimmed
