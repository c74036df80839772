"""Conformance: the Gatekeeper library's gator suites, run in place, scored strictly.

Every `suite.yaml` under ../shared/corpus/gatekeeper-library/library runs
through `cdgate gatekeeper verify`'s runner. The set of passing suites may
only grow: the test fails when a suite in the baseline stops passing, when
fewer than 95% pass, or when a failing suite has no reason in the baseline
and in docs/gatekeeper.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.engines.gatekeeper.verify import SuiteResult, find_suites, run_suite

REPO = Path(__file__).resolve().parents[2]
LIBRARY = REPO.parent / "shared" / "corpus" / "gatekeeper-library" / "library"
BASELINE = Path(__file__).with_name("conformance_baseline.json")
KNOWN_GAPS_DOC = REPO / "docs" / "gatekeeper.md"


@pytest.fixture(scope="module")
def outcomes() -> dict[str, SuiteResult]:
    if not LIBRARY.is_dir():
        pytest.skip("../shared/corpus/gatekeeper-library is not beside the repo")
    return {s.relative_to(LIBRARY).as_posix(): run_suite(s) for s in find_suites([LIBRARY])}


def test_suite_count_and_pass_rate_hold(outcomes: dict[str, SuiteResult]) -> None:
    baseline = json.loads(BASELINE.read_text())
    passing = [s for s, r in outcomes.items() if r.passed]
    assert len(outcomes) == baseline["total"], "the corpus changed: update conformance_baseline.json"
    assert len(passing) >= len(baseline["passing"])
    assert len(passing) / len(outcomes) >= 0.95


def test_no_baseline_suite_regresses(outcomes: dict[str, SuiteResult]) -> None:
    baseline = json.loads(BASELINE.read_text())
    regressed = sorted(s for s in baseline["passing"] if not outcomes[s].passed)
    assert not regressed, f"suites that passed before now fail: {regressed}"


def test_every_failing_suite_is_explained(outcomes: dict[str, SuiteResult]) -> None:
    baseline = json.loads(BASELINE.read_text())
    doc = KNOWN_GAPS_DOC.read_text()
    for suite in (s for s, r in outcomes.items() if not r.passed):
        assert baseline["known_gaps"].get(suite), f"{suite} fails without a reason in the baseline"
        assert suite in doc, f"{suite} fails but docs/gatekeeper.md does not list it"


def test_every_suite_checked_something(outcomes: dict[str, SuiteResult]) -> None:
    """Strictness: passing suites ran cases, and their `yes` cases saw violations."""
    ran = [r.counts()[1] for r in outcomes.values()]
    assert ran and all(count > 0 for count in ran if count is not None)
    saw_violations = [
        a for r in outcomes.values() for t in r.tests for c in t.cases for a in c.assertions if a.text.startswith("violations: yes")
    ]
    assert saw_violations and all(a.passed for a in saw_violations)
