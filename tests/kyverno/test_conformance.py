"""Conformance: Kyverno's own CLI suites and the policy library's suites.

Every suite in ../shared/corpus/validate-only-suites.txt runs in place with
strict scoring. The test fails when fewer suites fully pass than the
checked-in baseline, when a baseline suite regresses, or when a failing
suite is not explained in the known gaps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.engines.kyverno.testfile import run_suite, suite_conforms

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
LIST = CORPUS / "validate-only-suites.txt"
BASELINE = Path(__file__).with_name("conformance_baseline.json")
KNOWN_GAPS_DOC = REPO / "docs" / "kyverno.md"


def _suites() -> list[str]:
    return [line.strip() for line in LIST.read_text().splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, bool]:
    if not LIST.is_file():
        pytest.skip("../shared/corpus/validate-only-suites.txt is not beside the repo")
    return {suite: suite_conforms(run_suite(CORPUS / suite)) for suite in _suites()}


def test_pass_count_holds_the_baseline(outcomes: dict[str, bool]) -> None:
    baseline = json.loads(BASELINE.read_text())
    passing = sum(outcomes.values())
    assert len(outcomes) == baseline["total"], "the suite list changed: update conformance_baseline.json"
    assert passing >= baseline["passing"], f"{passing} suites pass, the baseline is {baseline['passing']}"
    assert passing / len(outcomes) >= 0.95


def test_no_baseline_suite_regresses(outcomes: dict[str, bool]) -> None:
    baseline = json.loads(BASELINE.read_text())
    failing_now = {s for s, ok in outcomes.items() if not ok}
    regressed = sorted(failing_now - set(baseline["known_gaps"]))
    assert not regressed, f"suites that passed before now fail: {regressed}"


def test_every_failing_suite_is_explained(outcomes: dict[str, bool]) -> None:
    baseline = json.loads(BASELINE.read_text())
    doc = KNOWN_GAPS_DOC.read_text()
    assert outcomes, "no suite ran"
    for suite in (s for s, ok in outcomes.items() if not ok):
        assert baseline["known_gaps"].get(suite), f"{suite} fails without a reason in the baseline"
        assert suite in doc, f"{suite} fails but docs/kyverno.md does not list it"


def test_strict_scoring_rejects_an_engine_that_says_nothing(tmp_path: Path) -> None:
    """A suite whose policy never matches its resources must not pass."""
    suite = CORPUS / "kyverno/test/cli/test/autogen/kyverno-test.yaml"
    if not suite.is_file():
        pytest.skip("corpus missing")
    text = suite.read_text()
    (tmp_path / "kyverno-test.yaml").write_text(text)
    source = suite.parent
    policy = (source / "policy.yaml").read_text().replace("- Pod\n", "- ConfigMap\n")
    (tmp_path / "policy.yaml").write_text(policy)
    (tmp_path / "resources.yaml").write_text((source / "resources.yaml").read_text())
    outcome = run_suite(tmp_path / "kyverno-test.yaml")
    assert not outcome.passed
    assert all(row.actual == "none" for row in outcome.rows)
