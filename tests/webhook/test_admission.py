"""The webhook over real HTTPS on 127.0.0.1: reviews of Pods, Deployments and CronJobs, operations, modes, waivers."""

from __future__ import annotations

import json

import pytest

from webhook.conftest import post, review, start_webhook
from webhook.profiles import cronjob, deployment, pod, write_profile


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("webhook")
    reports = directory / "policy-reports"
    server = start_webhook(directory, write_profile(directory), policy_report_dir=reports)
    server.reports = reports
    yield server
    server.stop()


@pytest.fixture
def http(served):
    with served.client() as client:
        yield client


def annotated(response: dict) -> list[dict]:
    return json.loads(response["auditAnnotations"]["findings"])


def test_privileged_pod_is_denied_with_rule_field_fix_and_waiver_hint(http):
    response = post(http, review(pod(name="bad", securityContext={"privileged": True})))
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    message = response["status"]["message"]
    assert message.startswith("cdgate denied Pod/shop/bad (profile webhook-test, fail_on high): 1 finding(s) fail the gate")
    assert "[CDG-K8S-001 critical] spec.containers[0].securityContext.privileged:" in message
    assert 'container "app" runs privileged' in message
    assert "Fix: Remove securityContext.privileged" in message
    assert "add a waiver for CDG-K8S-001 to gate.yaml" in message
    assert {"rule": "CDG-K8S-001", "severity": "critical", "outcome": "fail", "waived": False,
            "path": "spec.containers[0].securityContext.privileged"} in annotated(response)


def test_compliant_pod_is_allowed_and_findings_below_fail_on_come_back_as_warnings(http):
    response = post(http, review(pod(name="good")))
    assert response["allowed"] is True
    assert "status" not in response
    warnings = response["warnings"]
    assert any(w.startswith("cdgate: [CDG-K8S-081 low] spec.serviceAccountName:") for w in warnings), warnings
    assert all(len(w) <= 256 for w in warnings)
    assert {f["rule"] for f in annotated(response)} >= {"CDG-K8S-081"}
    assert not any(f["outcome"] == "fail" and f["severity"] in ("critical", "high") for f in annotated(response))


@pytest.mark.parametrize(
    ("make", "privileged_path"),
    [
        (deployment, "spec.template.spec.containers[0].securityContext.privileged"),
        (cronjob, "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"),
    ],
)
def test_workloads_are_judged_at_their_pod_template(http, make, privileged_path):
    good = post(http, review(make()))
    assert good["allowed"] is True, good.get("status")
    bad = post(http, review(make(name="bad", securityContext={"privileged": True})))
    assert bad["allowed"] is False
    assert f"[CDG-K8S-001 critical] {privileged_path}:" in bad["status"]["message"]


def test_update_policies_read_the_operation_and_the_old_object(http):
    created = pod(name="labelled", labels={"team": "shop"})
    assert post(http, review(created))["allowed"] is True  # the UPDATE-only policy does not apply to CREATE
    old = pod(name="labelled", labels={"team": "payments"})
    changed = post(http, review(created, "UPDATE", old=old))
    assert changed["allowed"] is False
    message = changed["status"]["message"]
    assert "[kyverno:immutable-team-label/team-label-unchanged high]" in message
    assert "label team is immutable (it was payments)" in message
    unchanged = post(http, review(created, "UPDATE", old=pod(name="labelled", labels={"team": "shop"})))
    assert unchanged["allowed"] is True


def test_dry_run_gets_the_same_answer(http):
    bad = pod(name="dry", securityContext={"privileged": True})
    real = post(http, review(bad))
    dry = post(http, review(bad, dry_run=True))
    assert (dry["allowed"], dry["status"]["message"]) == (real["allowed"], real["status"]["message"]) == (False, real["status"]["message"])


def test_delete_is_allowed_without_evaluation(http, served):
    before = served.state.metrics.value("cdgate_webhook_requests_total", operation="DELETE", answer="allowed", reason="skipped")
    response = post(http, review(None, "DELETE", old=pod(name="bad", securityContext={"privileged": True})))
    assert response["allowed"] is True
    assert response["status"]["message"] == "operation DELETE is not evaluated (webhook.operations)"
    assert "auditAnnotations" not in response
    after = served.state.metrics.value("cdgate_webhook_requests_total", operation="DELETE", answer="allowed", reason="skipped")
    assert after == before + 1


def test_excluded_namespace_and_label_are_allowed_unevaluated(http):
    system = post(http, review(pod(name="kube-proxy", namespace="kube-system", securityContext={"privileged": True})))
    assert system["allowed"] is True
    assert system["status"]["message"] == "namespace kube-system is excluded (webhook.exclude_namespaces)"
    labelled = pod(name="debug", labels={"cdgate.io/skip": "true"}, securityContext={"privileged": True})
    skipped = post(http, review(labelled))
    assert skipped["allowed"] is True
    assert skipped["status"]["message"] == "label cdgate.io/skip=true is excluded (webhook.exclude_labels)"
    labelled["metadata"]["labels"]["cdgate.io/skip"] = "false"
    assert post(http, review(labelled))["allowed"] is False


def test_waiver_admits_the_matching_resource_only(http):
    agent = post(http, review(pod(name="agent-1", namespace="node-agents", securityContext={"privileged": True})))
    assert agent["allowed"] is True
    assert {"rule": "CDG-K8S-001", "severity": "critical", "outcome": "fail", "waived": True,
            "path": "spec.containers[0].securityContext.privileged"} in annotated(agent)
    assert not any("CDG-K8S-001" in w for w in agent.get("warnings", []))
    other = post(http, review(pod(name="web-1", namespace="node-agents", securityContext={"privileged": True})))
    assert other["allowed"] is False and "CDG-K8S-001" in other["status"]["message"]


def test_audit_mode_rule_is_allowed_warned_counted_and_reported(http, served):
    host_network = pod(name="hostnet")
    host_network["spec"]["hostNetwork"] = True
    before = served.state.metrics.value("cdgate_webhook_decisions_total", rule="CDG-K8S-002", outcome="audit")
    dry = post(http, review(host_network, dry_run=True))
    assert dry["allowed"] is True
    report_path = served.reports / "shop" / "Pod-hostnet.json"
    assert not report_path.exists()  # a dry run leaves no PolicyReport behind
    response = post(http, review(host_network))
    assert response["allowed"] is True
    assert any(w.startswith("cdgate audit (not enforced): [CDG-K8S-002 high] spec.hostNetwork:") for w in response["warnings"])
    assert served.state.metrics.value("cdgate_webhook_decisions_total", rule="CDG-K8S-002", outcome="audit") == before + 2
    report = json.loads(report_path.read_text())
    assert (report["apiVersion"], report["kind"]) == ("wgpolicyk8s.io/v1alpha2", "PolicyReport")
    assert report["scope"] == {"apiVersion": "v1", "kind": "Pod", "name": "hostnet", "namespace": "shop"}
    failed = [r for r in report["results"] if r["result"] == "fail"]
    assert [(r["policy"], r["severity"], r["properties"]["field"]) for r in failed] == [("CDG-K8S-002", "high", "spec.hostNetwork")]
    assert report["summary"]["fail"] == 1 and report["summary"]["warn"] == len(report["results"]) - 1


def test_profile_wide_audit_mode_allows_what_enforce_denies(tmp_path):
    profile = write_profile(tmp_path, "version: 1\nname: audit-all\nwebhook:\n  mode: audit\n")
    server = start_webhook(tmp_path, profile)
    try:
        with server.client() as http:
            response = post(http, review(pod(name="bad", securityContext={"privileged": True})))
    finally:
        server.stop()
    assert response["allowed"] is True
    assert any(w.startswith("cdgate audit (not enforced): [CDG-K8S-001 critical]") for w in response["warnings"])


def test_environment_overrides_apply_as_in_ci(tmp_path):
    text = "version: 1\nname: envs\nfail_on: critical\nenvironments:\n  prod:\n    fail_on: low\n"
    profile = write_profile(tmp_path, text)
    server = start_webhook(tmp_path, profile, environment="prod")
    try:
        with server.client() as http:
            response = post(http, review(pod(name="good")))
    finally:
        server.stop()
    assert response["allowed"] is False  # prod fails on low: the default service account (CDG-K8S-081, low) blocks
    assert "(profile envs, environment prod, fail_on low)" in response["status"]["message"]
    assert "[CDG-K8S-081 low] spec.serviceAccountName" in response["status"]["message"]
