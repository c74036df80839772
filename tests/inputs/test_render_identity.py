"""Issue 8, problem 5: stable fingerprints across renders, and Helm test hooks left out.

The fixture chart is shaped like podinfo's: a test Pod named with
`randAlphaNum` and annotated `helm.sh/hook: test`, a Job named with `now`,
a Pod named with `uuidv4`, and a Secret made with `genCA`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cdgate
from inputs_helpers import write
from scanner.inputs.loader import LoadOptions, load_targets
from scanner.inputs.render_identity import masked_name

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: podinfo\nversion: 6.0.0\n",
    "templates/tests/grpc.yaml": """
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{ .Release.Name }}-grpc-test-{{ randAlphaNum 5 | lower }}
          annotations:
            "helm.sh/hook": test
        spec:
          containers:
            - name: grpc
              image: bats/bats:latest
              securityContext:
                privileged: true
    """,
    "templates/jobs.yaml": """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {{ .Release.Name }}-migrate-{{ now | date "20060102150405" }}
        spec:
          template:
            spec:
              containers:
                - name: migrate
                  image: migrate/migrate:latest
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{ .Release.Name }}-{{ uuidv4 }}
        spec:
          containers:
            - name: once
              image: busybox:latest
    """,
    "templates/tls.yaml": """
        {{- $ca := genCA "podinfo-ca" 365 }}
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ .Release.Name }}-tls
        data:
          ca.crt: {{ $ca.Cert | b64enc | quote }}
    """,
}


def check(tmp_path: Path, *extra: str) -> dict:
    done = run_cdgate("check", str(tmp_path / "podinfo"), "--root", str(tmp_path), "-f", "json", *extra)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_two_runs_over_the_same_chart_give_identical_fingerprints(tmp_path):
    write(tmp_path / "podinfo", CHART)
    first, second = check(tmp_path), check(tmp_path)
    fingerprints = [{f["fingerprint"] for f in run["findings"]} for run in (first, second)]
    assert len(fingerprints[0]) >= 10  # the Job and the Pod break many rules
    assert fingerprints[0] == fingerprints[1]
    names = {f["location"]["name"] for f in first["findings"] if f["location"]["kind"] in ("Job", "Pod")}
    assert names == {"podinfo-migrate-*", "podinfo-*"}
    # messages still name the resource as rendered
    assert any("podinfo-migrate-2" in f["message"] for f in first["findings"])


def test_helm_test_hooks_are_not_evaluated_by_default_and_a_notice_says_so(tmp_path):
    write(tmp_path / "podinfo", CHART)
    report = check(tmp_path)
    assert not [f for f in report["findings"] if "grpc-test" in (f["location"]["name"] or "")]
    [notice] = [n for n in report["notices"] if "Helm test hook" in n]
    assert "Pod/podinfo-grpc-test-" in notice and "inputs.include_test_hooks" in notice


def test_include_test_hooks_evaluates_them_with_a_stable_name(tmp_path):
    write(tmp_path / "podinfo", CHART)
    write(tmp_path, {"gate.yaml": "inputs:\n  include_test_hooks: true\n"})
    report = check(tmp_path, "--profile", str(tmp_path / "gate.yaml"))
    privileged = [f for f in report["findings"] if f["rule_id"] == "CDG-K8S-001"]
    assert [f["location"]["name"] for f in privileged] == ["podinfo-grpc-test-*"]


def test_an_unchanged_name_keeps_its_own_identity(tmp_path):
    write(tmp_path / "podinfo", CHART)
    result = load_targets([tmp_path / "podinfo"], LoadOptions(root=tmp_path))
    [secret] = [d for d in result.documents if d.kind == "Secret"]
    assert secret.name == "podinfo-tls" and secret.identity_name is None


def test_masked_names_cut_at_a_boundary():
    assert masked_name("web-test-ab12c", "web-test-ax9yz") == "web-test-*"
    assert masked_name("podinfo-k3j2l-grpc", "podinfo-p0o9i-grpc") == "podinfo-*-grpc"
    assert masked_name("a1b2", "c3d4") == "*"
