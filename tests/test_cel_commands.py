"""`cdgate kyverno test` and `cdgate kyverno apply` on the CEL policy kinds, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import CORPUS, run_cdgate

VPOL = CORPUS / "kyverno-policies" / "pod-security-vpol" / "baseline" / "disallow-privileged-containers"
VAP_SUITE = CORPUS / "kyverno" / "test" / "cli" / "test-validating-admission-policy" / "with-params"


def test_kyverno_test_runs_a_vap_suite_strictly() -> None:
    if not VAP_SUITE.is_dir():
        pytest.skip("corpus missing")
    proc = run_cdgate("kyverno", "test", str(VAP_SUITE))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Total: 1/1 suites passed, 2/2 rows passed (strict)" in proc.stdout


def test_kyverno_apply_reports_validating_policy_failures() -> None:
    if not VPOL.is_dir():
        pytest.skip("corpus missing")
    proc = run_cdgate("kyverno", "apply", str(VPOL / "disallow-privileged-containers.yaml"),
                      "-r", str(VPOL / ".kyverno-test" / "resource.yaml"))
    assert proc.returncode == 1, proc.stderr
    assert "FAIL  disallow-privileged-containers Pod/badpod01" in proc.stdout
    assert "FAIL  disallow-privileged-containers Deployment/baddeployment01" in proc.stdout  # autogen
    assert "goodpod01" not in proc.stdout


def test_kyverno_apply_bad_cel_is_exit_2_with_position(tmp_path: Path) -> None:
    policy = tmp_path / "vpol.yaml"
    policy.write_text(
        "apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata: {name: broken}\n"
        "spec:\n  matchConstraints:\n    resourceRules:\n    - {apiGroups: [''], apiVersions: [v1], "
        "operations: [CREATE], resources: [pods]}\n"
        "  validations:\n  - expression: \"object.spec.containers.all(c, c.image.startsWith('a')\"\n"
    )
    resource = tmp_path / "pod.yaml"
    resource.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}]}\n")
    proc = run_cdgate("kyverno", "apply", str(policy), "-r", str(resource))
    assert proc.returncode == 2
    assert "vpol.yaml" in proc.stderr and "broken" in proc.stderr and "validations[0].expression" in proc.stderr
    assert "1:54" in proc.stderr and "Traceback" not in proc.stderr
