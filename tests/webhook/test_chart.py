"""The Helm chart in deploy/cdgate-webhook, rendered with cdgate's Helm code and judged by cdgate's own gate."""

from __future__ import annotations

from pathlib import Path

import yaml

from scanner.inputs.loader import LoadOptions, load_targets
from scanner.profile import load_profile

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "cdgate-webhook"


def render(*set_values: str) -> dict[str, dict]:
    loaded = load_targets([str(CHART)], LoadOptions(root=REPO, set_values=tuple(set_values), mode="helm"))
    assert not loaded.problems, [p.message for p in loaded.problems]
    kinds = [d.kind for d in loaded.documents if d.is_resource]
    assert len(kinds) == len(set(kinds)), kinds  # one object per kind: a mapping by kind loses nothing
    return {d.kind: d.obj for d in loaded.documents if d.is_resource}


def test_chart_passes_cdgates_own_gate(cdgate):
    result = cdgate("check", str(CHART.relative_to(REPO)), "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED: 0 failing finding(s)" in result.stderr


def test_rendered_webhook_configuration(tmp_path):
    objects = render()
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ValidatingWebhookConfiguration",
            "ConfigMap", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Certificate", "Issuer"} <= set(objects)
    [hook] = objects["ValidatingWebhookConfiguration"]["webhooks"]
    assert hook["failurePolicy"] == "Fail" and hook["timeoutSeconds"] == 10
    assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
    [excluded] = hook["namespaceSelector"]["matchExpressions"]
    namespace = objects["Deployment"]["metadata"]["namespace"]
    assert excluded["operator"] == "NotIn" and {"kube-system", namespace} <= set(excluded["values"])
    assert hook["clientConfig"]["service"]["path"] == "/validate"
    assert hook["matchConditions"][0]["name"] == "not-a-mirror-pod"
    assert all(rule["operations"] == ["CREATE", "UPDATE"] for rule in hook["rules"])

    # The profile in the ConfigMap is a valid gate.yaml whose time budget is under the API server's timeout.
    profile_path = tmp_path / "gate.yaml"
    profile_path.write_text(objects["ConfigMap"]["data"]["gate.yaml"])
    profile = load_profile(profile_path)
    assert profile.webhook["timeout_s"] == 8 < hook["timeoutSeconds"]

    rules = objects["ClusterRole"]["rules"]
    assert rules == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}]


def test_rendered_deployment_is_hardened():
    deployment = render()["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["automountServiceAccountToken"] is False
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    [container] = pod["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["capabilities"]["drop"] == ["ALL"] and context["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" and container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "@sha256:" in container["image"]
    assert container["args"][:2] == ["webhook", "serve"] and "--env=prod" in container["args"]
    assert pod["terminationGracePeriodSeconds"] > 10  # room to drain reviews in flight


def test_without_cert_manager_or_watch():
    objects = render("certManager.enabled=false", "namespaceWatch=false", "webhook.caBundle=Y2E=")
    assert "Certificate" not in objects and "ClusterRole" not in objects
    [hook] = objects["ValidatingWebhookConfiguration"]["webhooks"]
    assert hook["clientConfig"]["caBundle"] == "Y2E="
    assert "annotations" not in objects["ValidatingWebhookConfiguration"]["metadata"]
    assert "--no-cluster-watch" in objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]


def test_a_budget_not_under_timeout_seconds_does_not_render():
    profile = yaml.safe_dump({"version": 1, "webhook": {"timeout_s": 12}})
    loaded = load_targets([str(CHART)], LoadOptions(root=REPO, set_values=(f"profile={profile}",), mode="helm"))
    assert loaded.problems and "must be below webhook.timeoutSeconds" in loaded.problems[0].message
