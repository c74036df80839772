"""The HTML report in headless Chromium: what a person sees at 400 px and 1,400 px, and a working filter.

The page is the real report of a merge-gate run on a git repo made from
examples/cd-repo (a pull request that makes service-a privileged), so it has
blocking new findings, unchanged old ones and an expired waiver. Chromium
runs the page's own script: `--dump-dom` shows the DOM after it ran, and the
address's #fragment sets the filters as a person would by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from merge.gitrepo import GitRepo
from png import count_color, read_png
from scanner.merge.run import MergeRequest, run_merge_gate
from scanner.report.html import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BRIEFS = Path("/work/briefs")
BLOCKING_RED = (0xCF, 0x22, 0x2E)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    repo = GitRepo.from_example(tmp_path_factory.mktemp("html") / "cd-repo")
    repo.commit("base")
    repo.branch("pr")
    repo.replace("services/service-a/templates/deployment.yaml", "readOnlyRootFilesystem: true",
                 "readOnlyRootFilesystem: true\n            privileged: true")
    repo.commit("service-a: privileged")
    import datetime as dt

    verdict = run_merge_gate(MergeRequest(repo=repo.path, base="main", head="pr", environments=("prod", "staging"),
                                          today=dt.date(2026, 11, 30)))
    assert verdict.exit_code == 1
    page = tmp_path_factory.mktemp("page") / "report.html"
    page.write_text(render_html(verdict, today=dt.date(2026, 11, 30)))
    return page


def chromium(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--hide-scrollbars", f"--user-data-dir={home}", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(home)},
    )


class Cards(HTMLParser):
    """The finding cards of a dumped DOM: their data- attributes, hidden flag and place."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, str | None]] = []
        self.shown = ""
        self._zone = 0
        self._depth = 0
        self._in_shown = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self._depth += 1
            if "blocking-zone" in (attributes.get("class") or ""):
                self._zone = self._depth
        if tag == "article":
            self.cards.append({**attributes, "zone": "blocking" if self._zone else "groups"})
        self._in_shown = attributes.get("id") == "shown"

    def handle_endtag(self, tag):
        if tag == "section":
            if self._zone == self._depth:
                self._zone = 0
            self._depth -= 1

    def handle_data(self, data):
        if self._in_shown:
            self.shown += data
            self._in_shown = False


def dom(page: Path, fragment: str, home: Path) -> Cards:
    result = chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri() + fragment, home=home)
    assert result.returncode == 0 and "<article" in result.stdout, result.stderr[-2000:]
    cards = Cards()
    cards.feed(result.stdout)
    return cards


@pytest.mark.slow
def test_blocking_findings_are_visible_at_400_and_1400_px(report, tmp_path):
    for width in (400, 1400):
        shot = tmp_path / f"html-{width}.png"
        result = chromium(f"--window-size={width},1100", f"--screenshot={shot}", "--virtual-time-budget=3000",
                          report.as_uri(), home=tmp_path / "home")
        assert shot.is_file(), result.stderr[-2000:]
        png_width, height, rows = read_png(shot)
        assert (png_width, height) == (width, 1100)
        # the blocking zone (red border, red badges) is on the first screen, at both widths
        assert count_color(rows, BLOCKING_RED) > 200, width
        if BRIEFS.is_dir():
            shutil.copy(shot, BRIEFS / f"html-{width}.png")


@pytest.mark.slow
def test_filters_work_in_the_browser(report, tmp_path):
    home = tmp_path / "home"
    everything = dom(report, "", home)
    groups = [c for c in everything.cards if c["zone"] == "groups"]
    blocking = [c for c in everything.cards if c["zone"] == "blocking"]
    assert blocking and all(c["data-blocking"] == "true" and "hidden" not in c for c in blocking)
    assert {c["data-rule"] for c in blocking} == {"CDG-K8S-001"}
    assert {c["data-baseline"] for c in blocking} == {"new"}
    assert all("hidden" not in c for c in groups)
    assert re.fullmatch(rf"{len(groups)} of {len(groups)} findings shown", everything.shown)

    new_only = dom(report, "#baseline=new", home)
    visible = [c for c in new_only.cards if c["zone"] == "groups" and "hidden" not in c]
    assert visible and {c["data-baseline"] for c in visible} == {"new"}
    assert len(visible) < len(groups)
    assert new_only.shown == f"{len(visible)} of {len(groups)} findings shown"

    searched = dom(report, "#q=service-a&baseline=unchanged&environment=prod", home)
    visible = [c for c in searched.cards if c["zone"] == "groups" and "hidden" not in c]
    assert visible
    assert all(c["data-service"] == "service-a" and c["data-baseline"] == "unchanged" and c["data-environment"] == "prod" for c in visible)
    assert all(c["data-blocking"] == "false" for c in visible)  # old findings do not block the merge
    hidden = [c for c in searched.cards if c["zone"] == "groups" and "hidden" in c]
    assert any(c["data-rule"] == "CDG-K8S-001" for c in hidden) and any(c["data-environment"] == "staging" for c in hidden)

    blocking_only = dom(report, "#blocking=1", home)
    visible = [c for c in blocking_only.cards if c["zone"] == "groups" and "hidden" not in c]
    assert {c["data-rule"] for c in visible} == {"CDG-K8S-001"} and len(visible) == 2  # prod and staging
