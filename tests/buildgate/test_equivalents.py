"""One finding per mistake: Rego, Trivy and Checkov on the same control and resource become one finding."""

from __future__ import annotations

import json

import pytest

from scanner.findings import Finding, Location, Outcome, Severity
from scanner.gates.equivalents import load_controls, merge_equivalents

TWO_PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: nginx:1.27.0
      securityContext:
        privileged: true
    - name: sidecar
      image: envoy:1.31.0
      securityContext:
        privileged: true
"""


def _finding(rule_id: str, engine: str, severity: Severity, name: str = "web", message: str = "m") -> Finding:
    return Finding(
        rule_id=rule_id, severity=severity, message=message,
        location=Location(path="k8s/pod.yaml", start_line=10, end_line=10, kind="Pod", namespace="shop", name=name),
        engine=engine, gate="iac", outcome=Outcome.FAIL,
    )


def test_same_control_on_the_same_resource_is_one_finding_listing_every_engine():
    findings = [
        _finding("KSV-0017", "trivy", Severity.HIGH),
        _finding("CKV_K8S_16", "checkov", Severity.HIGH),
        _finding("CDG-K8S-001", "rego", Severity.CRITICAL, message="privileged"),
        _finding("CKV_K8S_16", "checkov", Severity.HIGH, name="api"),  # another resource: stays
    ]
    merged = merge_equivalents(findings, load_controls())
    assert len(merged) == 2
    one = merged[0]
    assert one.rule_id == "CDG-K8S-001" and one.severity is Severity.CRITICAL
    assert one.properties["engines"] == ["checkov", "rego", "trivy"]
    assert "trivy KSV-0017" in one.message and "checkov CKV_K8S_16" in one.message
    assert merged[1].location.name == "api"


def test_highest_severity_wins_when_the_kept_rule_is_milder():
    merged = merge_equivalents([_finding("DS-0002", "trivy", Severity.MEDIUM), _finding("CKV_DOCKER_3", "checkov", Severity.HIGH)], load_controls())
    assert [(f.rule_id, f.severity) for f in merged] == [("DS-0002", Severity.HIGH)]


@pytest.mark.slow
def test_scan_iac_reports_each_privileged_container_once(scan_in_process, tmp_path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "pod.yaml").write_text(TWO_PRIVILEGED)
    code, report = scan_in_process("iac", tmp_path / "k8s")
    assert code == 1
    findings = report["findings"]
    privileged = [f for f in findings if f["properties"].get("control") == "privileged" or f["rule_id"] in ("KSV-0017", "CKV_K8S_16", "CDG-K8S-001")]
    assert [f["rule_id"] for f in privileged] == ["CDG-K8S-001", "CDG-K8S-001"]  # one per container, not five
    assert {tuple(f["properties"]["engines"]) for f in privileged} == {("checkov", "rego", "trivy")}
    assert {f["location"]["start_line"] for f in privileged} == {11, 15}


@pytest.mark.slow
def test_trivy_and_checkov_secrets_in_a_config_file_are_one_finding_each(scan_in_process, tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "settings.yaml").write_text(
        "app:\n  region: eu-west-1\n  aws_access_key_id: AKIAZ7QW3RT5YU2IOPLA\n"
        "  aws_secret_access_key: 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\n"
    )
    code, report = scan_in_process("secrets", tmp_path / "conf")
    assert code == 1
    findings = report["findings"]
    assert [(f["rule_id"], f["location"]["start_line"]) for f in findings] == [
        ("secret:aws-access-key-id", 3), ("secret:aws-secret-access-key", 4)]
    assert all(f["properties"]["engines"] == ["checkov", "trivy"] for f in findings)
    assert "AKIAZ7QW3RT5YU2IOPLA" not in json.dumps(report)


def test_other_engines_attach_to_the_findings_their_lines_overlap():
    def at(rule_id, engine, start, end):
        f = _finding(rule_id, engine, Severity.HIGH)
        f.location = Location(path="k8s/pod.yaml", start_line=start, end_line=end, kind="Pod", namespace="shop", name="web")
        return f

    findings = [at("CDG-K8S-001", "rego", 11, 11), at("CDG-K8S-001", "rego", 15, 15), at("KSV-0017", "trivy", 12, 15)]
    first, second = merge_equivalents(findings, load_controls())
    assert "engines" not in first.properties and second.properties["engines"] == ["rego", "trivy"]
