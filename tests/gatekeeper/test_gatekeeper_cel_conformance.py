"""Forced-CEL conformance: the library templates that carry both K8sNativeValidation and Rego.

Every suite of ../shared/corpus/gatekeeper-library/library whose template
carries CEL runs twice through `cdgate gatekeeper verify`'s runner: with
K8sNativeValidation on (the CEL code runs, as in Gatekeeper and gator by
default) and off (the Rego runs). What is compared:

- strict suite scoring with the CEL code (every assertion, counts and
  messages included); the passing set may only grow
  (`cel_conformance_baseline.json`);
- per case, whether the two engines report any violation at all (yes/no);
  the agreeing cases may only grow. Counts are not compared across engines:
  the Rego emits one violation per offending container or sysctl where the
  CEL joins them into one message per validation (or the reverse).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.engines.gatekeeper.verify import SuiteResult, find_suites, run_suite

REPO = Path(__file__).resolve().parents[2]
LIBRARY = REPO.parent / "shared" / "corpus" / "gatekeeper-library" / "library"
BASELINE = Path(__file__).with_name("cel_conformance_baseline.json")


def _carries_cel(suite: Path) -> bool:
    template = suite.parent / "template.yaml"
    return template.is_file() and "K8sNativeValidation" in template.read_text()


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[SuiteResult, SuiteResult]]:
    if not LIBRARY.is_dir():
        pytest.skip("../shared/corpus/gatekeeper-library is not beside the repo")
    return {
        s.relative_to(LIBRARY).as_posix(): (run_suite(s, k8s_native_validation=True), run_suite(s, k8s_native_validation=False))
        for s in find_suites([LIBRARY])
        if _carries_cel(s)
    }


def _case_ids(cel: SuiteResult, rego: SuiteResult, suite: str) -> list[tuple[str, bool, int, int]]:
    """(case id, both engines agree on yes/no, CEL count, Rego count) for every case that ran."""
    rows = []
    for cel_test, rego_test in zip(cel.tests, rego.tests, strict=True):
        for cel_case, rego_case in zip(cel_test.cases, rego_test.cases, strict=True):
            if cel_case.skipped:
                continue
            agree = not cel_case.error and not rego_case.error and bool(cel_case.messages) == bool(rego_case.messages)
            rows.append((f"{suite}/{cel_test.name}/{cel_case.name}", agree, len(cel_case.messages), len(rego_case.messages)))
    return rows


def test_every_template_with_cel_ran_its_cel(runs: dict[str, tuple[SuiteResult, SuiteResult]]) -> None:
    baseline = json.loads(BASELINE.read_text())
    assert len(runs) == baseline["suites_with_cel"], "the corpus changed: update cel_conformance_baseline.json"
    engines = {suite: ({t.engine for t in cel.tests}, {t.engine for t in rego.tests}) for suite, (cel, rego) in runs.items()}
    assert engines and all(e == ({"K8sNativeValidation"}, {"Rego"}) for e in engines.values()), engines


def test_cel_passes_the_suites_strictly_and_never_regresses(runs: dict[str, tuple[SuiteResult, SuiteResult]]) -> None:
    baseline = json.loads(BASELINE.read_text())
    passing = sorted(s for s, (cel, _) in runs.items() if cel.passed)
    regressed = sorted(set(baseline["cel_passing"]) - set(passing))
    assert not regressed, f"suites that passed with CEL now fail: {regressed}"
    cases = [c for cel, _ in runs.values() for t in cel.tests for c in t.cases if not c.skipped]
    assert len(cases) >= baseline["cases"] and all(c.passed for s, (cel, _) in runs.items() if s in passing
                                                   for t in cel.tests for c in t.cases)


def test_cel_and_rego_agree_on_every_case(runs: dict[str, tuple[SuiteResult, SuiteResult]]) -> None:
    baseline = json.loads(BASELINE.read_text())
    rows = [row for suite, (cel, rego) in runs.items() for row in _case_ids(cel, rego, suite)]
    assert len(rows) >= baseline["cases"]
    agreeing = {case for case, agree, _, _ in rows if agree}
    lost = sorted(set(baseline["agreeing_cases"]) - agreeing)
    assert not lost, f"cases where CEL and Rego agreed now differ: {lost}"
    saw_violations = [row for row in rows if row[2] > 0]
    assert saw_violations and all(rego_count > 0 for _, _, _, rego_count in saw_violations)
