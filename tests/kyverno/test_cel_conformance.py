"""Conformance of the CEL policy kinds: Kyverno `validate.cel` (`*-cel`), ValidatingPolicy
(`*-vpol`, `test-validating-policy`) and ValidatingAdmissionPolicy (`test-validating-admission-policy`).

Strict scoring as for the validate suites. The passing set may only grow;
every failing suite carries a reason in the baseline and is listed in docs/cel.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.engines.kyverno.testfile import find_test_files, run_suite, suite_conforms

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
BASELINE = Path(__file__).with_name("cel_conformance_baseline.json")
DOC = REPO / "docs" / "cel.md"


def _folders() -> list[Path]:
    library = CORPUS / "kyverno-policies"
    folders = [p for p in sorted(library.iterdir()) if p.name.endswith(("-cel", "-vpol"))]
    cli = CORPUS / "kyverno" / "test" / "cli"
    return folders + [cli / "test-validating-policy", cli / "test-validating-admission-policy"]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, bool]:
    if not (CORPUS / "kyverno-policies").is_dir():
        pytest.skip("../shared/corpus is not beside the repo")
    files = find_test_files(_folders())
    return {str(f.relative_to(CORPUS)): suite_conforms(run_suite(f)) for f in files}


@pytest.mark.slow
def test_cel_pass_count_holds_the_baseline(outcomes: dict[str, bool]) -> None:
    baseline = json.loads(BASELINE.read_text())
    assert len(outcomes) == baseline["total"], "the suite set changed: update cel_conformance_baseline.json"
    assert sum(outcomes.values()) >= baseline["passing"]


@pytest.mark.slow
def test_no_cel_suite_regresses_and_every_gap_is_explained(outcomes: dict[str, bool]) -> None:
    baseline = json.loads(BASELINE.read_text())
    doc = DOC.read_text()
    failing = {s for s, ok in outcomes.items() if not ok}
    assert not sorted(failing - set(baseline["known_gaps"])), "suites that passed before now fail"
    for suite in failing:
        assert baseline["known_gaps"][suite], f"{suite} fails without a reason"
        assert Path(suite).parent.parent.name in doc or Path(suite).parent.name in doc, f"{suite} not in docs/cel.md"
