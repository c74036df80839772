"""`cdgate gatekeeper verify` and `test`, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cdgate
from gk_helpers import LABELS_REGO, constraint, pod, template, write, write_text

SUITE = """\
kind: Suite
apiVersion: test.gatekeeper.sh/v1alpha1
metadata:
  name: labels
tests:
- name: required-labels
  template: template.yaml
  constraint: constraint.yaml
  cases:
  - name: missing
    object: missing.yaml
    assertions:
    - violations: yes
    - violations: 1
      message: owner
    - violations: no
      message: nothing-like-this
  - name: present
    object: present.yaml
    assertions:
    - violations: no
  - name: update-review
    object: review.yaml
    assertions:
    - violations: {update}
"""

ADMISSION_REVIEW = """\
kind: AdmissionReview
apiVersion: admission.k8s.io/v1
request:
  operation: DELETE
  oldObject:
    apiVersion: v1
    kind: Pod
    metadata: {name: gone, namespace: team-a}
"""


def make_suite(tmp_path: Path, *, update: str = "1") -> Path:
    write(tmp_path / "template.yaml", template("K8sRequiredLabelsX", LABELS_REGO))
    write(tmp_path / "constraint.yaml", constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]}))
    write(tmp_path / "missing.yaml", pod())
    write(tmp_path / "present.yaml", pod(labels={"owner": "me"}))
    write_text(tmp_path / "review.yaml", ADMISSION_REVIEW)
    return write_text(tmp_path / "suite.yaml", SUITE.format(update=update))


def test_a_suite_whose_assertions_hold_passes(tmp_path: Path) -> None:
    make_suite(tmp_path)
    result = run_cdgate("gatekeeper", "verify", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout and "cases 3/3" in result.stdout
    assert "Total: 1/1 suites passed, 3/3 cases passed (strict)" in result.stdout


def test_a_wrong_count_fails_the_suite_and_says_what_was_seen(tmp_path: Path) -> None:
    make_suite(tmp_path, update="2")
    result = run_cdgate("gatekeeper", "verify", str(tmp_path / "suite.yaml"))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "update-review" in result.stdout
    assert "got 1 matching violations" in result.stdout
    assert "Total: 0/1 suites passed, 2/3 cases passed (strict)" in result.stdout


def test_an_engine_that_finds_nothing_cannot_pass(tmp_path: Path) -> None:
    """Strict scoring: a constraint that never matches fails every `yes` case."""
    make_suite(tmp_path)
    write(tmp_path / "constraint.yaml", constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]},
                                                   match={"kinds": [{"apiGroups": [""], "kinds": ["ConfigMap"]}]}))
    result = run_cdgate("gatekeeper", "verify", str(tmp_path))
    assert result.returncode == 1
    assert "cases 1/3" in result.stdout


def test_invalid_constraints_and_errors_are_scored(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"labels": {"type": "array", "items": {"type": "string"}}}}
    write(tmp_path / "template.yaml", template("K8sRequiredLabelsX", LABELS_REGO, schema=schema))
    write(tmp_path / "bad.yaml", constraint("K8sRequiredLabelsX", "bad", parameters={"labels": "owner"}))
    write(tmp_path / "good.yaml", constraint("K8sRequiredLabelsX", "good", parameters={"labels": ["owner"]}))
    write(tmp_path / "two.yaml", pod(), pod("other"))
    write_text(tmp_path / "suite.yaml", """\
        kind: Suite
        apiVersion: test.gatekeeper.sh/v1alpha1
        tests:
        - name: rejected-by-schema
          template: template.yaml
          constraint: bad.yaml
          invalid: true
        - name: two-objects
          template: template.yaml
          constraint: good.yaml
          cases:
          - name: two
            object: two.yaml
            assertions: [{violations: yes}]
          - name: skipped
            skip: true
            object: two.yaml
            assertions: [{violations: yes}]
        """)
    result = run_cdgate("gatekeeper", "verify", str(tmp_path), "-v")
    assert result.returncode == 1
    assert "defines 2 objects, not one" in result.stdout
    assert "skip two-objects / skipped" in result.stdout
    assert "rejected-by-schema" not in result.stdout  # the invalid test passed


def test_no_suites_is_an_error(tmp_path: Path) -> None:
    result = run_cdgate("gatekeeper", "verify", str(tmp_path))
    assert result.returncode == 2 and "no suite.yaml" in result.stderr


def test_gator_test_reports_violations_and_exits_1(tmp_path: Path) -> None:
    write(tmp_path / "policy.yaml", template("K8sRequiredLabelsX", LABELS_REGO),
          constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]}))
    write(tmp_path / "pods.yaml", pod("bad"), pod("good", labels={"owner": "x"}))
    result = run_cdgate("gatekeeper", "test", "-f", str(tmp_path))
    assert result.returncode == 1, result.stderr
    assert "Pod/team-a/bad: [need-owner] (deny) you must provide labels" in result.stdout
    assert "Pod/team-a/good" not in result.stdout
    assert "deny: 1" in result.stdout
    write(tmp_path / "pods.yaml", pod("good", labels={"owner": "x"}))
    assert run_cdgate("gatekeeper", "test", "-f", str(tmp_path)).returncode == 0


def test_a_suite_that_does_not_parse_exits_2_with_file_and_line(tmp_path: Path) -> None:
    make_suite(tmp_path)
    (tmp_path / "suite.yaml").write_text("kind: Suite\ntests:\n  - name: a\n    cases: [\n")
    result = run_cdgate("gatekeeper", "verify", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path.as_posix()}/suite.yaml:" in result.stdout
    assert "could not be read" in result.stderr
