"""Kyverno's CLI suites for CEL data libraries given offline: `apiCallResponses` (http),
`globalContextEntries` (globalContext and globalReference), CEL preconditions, rule-less rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engines.kyverno.testfile import run_suite

CLI = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "kyverno" / "test" / "cli"
SUITES = [
    "test/cel-http-get-mock", "test/cel-http-post-mock", "test/cel-http-post-mock-deny",
    "test/mock-global-context", "test/mock-gce-resource-files", "test/mock-gce-inline-resource",
    "test/cel-preconditions", "test/cel-preconditions-deprecated", "test-ruleless-policy",
    "test/validating-admission-policies/disallow-host-path",
]


@pytest.mark.parametrize("suite", SUITES)
def test_suite_passes_strictly(suite: str) -> None:
    path = CLI / suite / "kyverno-test.yaml"
    if not path.is_file():
        pytest.skip("corpus missing")
    outcome = run_suite(path)
    assert outcome.error is None, outcome.error
    assert outcome.rows and outcome.passed, [(r.resource, r.expected, r.actual, r.message) for r in outcome.rows]


def test_http_without_a_mock_is_an_error_not_a_pass(tmp_path: Path) -> None:
    source = CLI / "test" / "cel-http-get-mock"
    if not source.is_dir():
        pytest.skip("corpus missing")
    for name in ("policy.yaml", "resources.yaml"):
        (tmp_path / name).write_text((source / name).read_text())
    text = (source / "kyverno-test.yaml").read_text().replace("https://example.com/config", "https://example.com/other")
    (tmp_path / "kyverno-test.yaml").write_text(text)
    outcome = run_suite(tmp_path / "kyverno-test.yaml")
    assert [r.actual for r in outcome.rows] == ["error"]
    assert "no response for GET https://example.com/config" in outcome.rows[0].message
