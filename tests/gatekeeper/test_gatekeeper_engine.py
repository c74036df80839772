"""The Gatekeeper engine: matching, input.review, data.inventory, actions, external_data, libs, Rego v1."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from gk_helpers import ECHO_REGO, LABELS_REGO, constraint, pod, template, write
from scanner.engines.base import AdmissionRequest, EvaluationRequest, Level
from scanner.engines.gatekeeper.client import GatekeeperPolicies, load_policies
from scanner.engines.gatekeeper.engine import GatekeeperEngine, SyncedKind
from scanner.engines.gatekeeper.match import wildcard_matches
from scanner.engines.gatekeeper.review import build_inventory, object_review
from scanner.inputs.document import Document

ECHO = template("K8sEcho", ECHO_REGO)


def policies(tmp_path: Path, *docs: dict[str, Any], external_data: Any = None) -> GatekeeperPolicies:
    return load_policies([write(tmp_path / "policies.yaml", *docs)], tmp_path, external_data)


def messages(p: GatekeeperPolicies, obj: dict[str, Any], **review: Any) -> list[str]:
    outcome = p.review(object_review(obj, **review), {})
    assert not outcome.errors, outcome.errors
    return [v.message for v in outcome.violations]


def echo_with(tmp_path: Path, match: dict[str, Any]) -> GatekeeperPolicies:
    return policies(tmp_path, ECHO, constraint("K8sEcho", "echo", match=match, parameters={"report": True}))


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [("kube-*", "kube-system", True), ("*-system", "kube-system", True), ("*sys*", "kube-system", True),
     ("kube-*", "default", False), ("kube-system", "kube-system", True), ("kube", "kube-system", False)],
)
def test_namespace_wildcards_are_prefix_suffix_only(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_matches(pattern, value) is expected


def test_review_fields_are_those_gatekeeper_builds(tmp_path: Path) -> None:
    p = echo_with(tmp_path, {})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"}}
    assert messages(p, deployment, operation="CREATE") == ["apps Deployment shop/api op=CREATE"]
    # gator's plain objects carry no operation
    assert messages(p, pod("web", None)) == [" Pod -/web op=-"]


@pytest.mark.parametrize(
    ("match", "obj", "applies"),
    [
        ({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}, pod(), True),
        ({"kinds": [{"apiGroups": ["apps"], "kinds": ["Pod"]}]}, pod(), False),
        ({"kinds": [{"apiGroups": ["*"], "kinds": []}]}, pod(), True),
        ({"namespaces": ["team-*"]}, pod(namespace="team-a"), True),
        ({"namespaces": ["team-*"]}, pod(namespace="other"), False),
        ({"namespaces": ["team-*"]}, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-x"}}, True),
        ({"namespaces": ["team-*"]}, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}, True),
        ({"excludedNamespaces": ["*-system"]}, pod(namespace="kube-system"), False),
        ({"excludedNamespaces": ["*-system"]}, pod(namespace="team-a"), True),
        ({"scope": "Cluster"}, pod(), False),
        ({"scope": "Namespaced"}, pod(), True),
        ({"scope": "Cluster"}, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}, True),
        ({"labelSelector": {"matchLabels": {"tier": "web"}}}, pod(labels={"tier": "web"}), True),
        ({"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}}, pod(), True),
        ({"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}, pod(), False),
        ({"name": "we*"}, pod("web"), True),
        ({"name": "we*"}, pod("api"), False),
    ],
)
def test_match_criteria(tmp_path: Path, match: dict[str, Any], obj: dict[str, Any], applies: bool) -> None:
    assert bool(messages(echo_with(tmp_path, match), obj)) is applies


def test_update_matches_when_the_old_object_matches(tmp_path: Path) -> None:
    p = echo_with(tmp_path, {"labelSelector": {"matchLabels": {"tier": "web"}}})
    assert messages(p, pod(), operation="UPDATE") == []
    assert len(messages(p, pod(), operation="UPDATE", old_object=pod(labels={"tier": "web"}))) == 1


def test_namespace_selector_reads_the_synced_namespace_and_fails_closed_without_it(tmp_path: Path) -> None:
    p = echo_with(tmp_path, {"namespaceSelector": {"matchLabels": {"env": "prod"}}})
    prod = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"env": "prod"}}}
    assert len(p.review(object_review(pod()), build_inventory([prod])).violations) == 1
    dev = {**prod, "metadata": {"name": "team-a", "labels": {"env": "dev"}}}
    assert p.review(object_review(pod()), build_inventory([dev])).violations == []
    unknown = p.review(object_review(pod()), {})
    assert unknown.violations == [] and "team-a" in unknown.errors[0].message


def test_inventory_uses_gatekeepers_sync_layout(tmp_path: Path) -> None:
    rego = """\
package k8suniquehost

violation[{"msg": msg}] {
  other := data.inventory.namespace[ns]["networking.k8s.io/v1"]["Ingress"][name]
  other.spec.host == input.review.object.spec.host
  name != input.review.object.metadata.name
  msg := sprintf("host taken by %v/%v", [ns, name])
}
violation[{"msg": msg}] {
  data.inventory.cluster["v1"]["Namespace"][input.review.object.metadata.namespace].metadata.labels.frozen
  msg := "namespace is frozen"
}
"""
    p = policies(tmp_path, template("K8sUniqueHost", rego), constraint("K8sUniqueHost", "unique"))
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "a", "namespace": "x"}, "spec": {"host": "h"}}
    other = {**ingress, "metadata": {"name": "b", "namespace": "y"}}
    frozen = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"frozen": "yes"}}}
    inventory = build_inventory([ingress, other, frozen])
    assert inventory["namespace"]["y"]["networking.k8s.io/v1"]["Ingress"]["b"] == other
    found = sorted(v.message for v in p.review(object_review(ingress), inventory).violations)
    assert found == ["host taken by y/b", "namespace is frozen"]


def test_enforcement_actions_map_to_levels(tmp_path: Path) -> None:
    docs = [template("K8sRequiredLabelsX", LABELS_REGO)] + [
        constraint("K8sRequiredLabelsX", f"labels-{action}", parameters={"labels": ["owner"]}, action=action)
        for action in ("deny", "warn", "dryrun")
    ]
    engine = GatekeeperEngine(policies(tmp_path, *docs))
    doc = Document(pod(), "pod.yaml", 1, 10, line_map={("metadata",): 3})
    results = {r.rule_id: r for r in engine.evaluate(EvaluationRequest([doc]))}
    assert {k: r.level for k, r in results.items()} == {
        "gatekeeper:K8sRequiredLabelsX/labels-deny": Level.DENY,
        "gatekeeper:K8sRequiredLabelsX/labels-warn": Level.WARN,
        "gatekeeper:K8sRequiredLabelsX/labels-dryrun": Level.WARN,
    }
    assert results["gatekeeper:K8sRequiredLabelsX/labels-deny"].message == 'you must provide labels: {"owner"}'


def test_finding_points_at_the_field_the_message_names(tmp_path: Path) -> None:
    rego = """\
package k8sprivileged

violation[{"msg": msg}] {
  c := input.review.object.spec.containers[_]
  c.securityContext.privileged
  msg := sprintf("Privileged container is not allowed: %v, securityContext: %v", [c.name, c.securityContext])
}
"""
    engine = GatekeeperEngine(policies(tmp_path, template("K8sPrivileged", rego), constraint("K8sPrivileged", "p")))
    obj = pod(privileged=True)
    obj["spec"]["containers"].insert(0, {"name": "sidecar", "image": "envoy"})
    doc = Document(obj, "pod.yaml", 1, 12)
    [result] = engine.evaluate(EvaluationRequest([doc]))
    assert result.json_path == "spec.containers[1].securityContext.privileged"


def test_webhook_admission_fields_reach_the_review(tmp_path: Path) -> None:
    engine = GatekeeperEngine(echo_with(tmp_path, {}))
    admission = AdmissionRequest(operation="UPDATE", old_object=pod(), user_info={"username": "alice"}, namespace="team-a")
    [result] = engine.evaluate(EvaluationRequest([Document(pod(), "p.yaml")], admission=admission))
    assert result.message == " Pod team-a/web op=UPDATE"


def test_synced_kinds_only_reach_the_inventory(tmp_path: Path) -> None:
    rego = """\
package k8scount

violation[{"msg": msg}] {
  input.review.object.kind == "Pod"
  msg := sprintf("%v", [count(object.get(data.inventory, ["namespace", "team-a", "v1", "ConfigMap"], {}))])
}
"""
    p = policies(tmp_path, template("K8sCount", rego), constraint("K8sCount", "c"))
    docs = [Document(pod(), "p.yaml"), Document({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "team-a"}}, "m.yaml")]
    synced = GatekeeperEngine(p, [SyncedKind("", "v1", "ConfigMap")]).evaluate(EvaluationRequest(docs))
    unsynced = GatekeeperEngine(p).evaluate(EvaluationRequest(docs))
    assert [r.message for r in synced] == ["1"] and [r.message for r in unsynced] == ["0"]


EXTERNAL_REGO = """\
package k8sexternal

violation[{"msg": msg}] {
  image := input.review.object.spec.containers[_].image
  response := external_data({"provider": "signer", "keys": [image]})
  [_, status] := response.responses[_]
  status != "signed"
  msg := sprintf("%v is %v", [image, status])
}
"""


def test_external_data_without_configured_answers_is_an_error(tmp_path: Path) -> None:
    p = policies(tmp_path, template("K8sExternal", EXTERNAL_REGO), constraint("K8sExternal", "e"))
    outcome = p.review(object_review(pod()), {})
    assert outcome.violations == []
    assert "signer" in outcome.errors[0].message and "gatekeeper.external_data" in outcome.errors[0].hint


def test_external_data_answers_come_from_the_profile(tmp_path: Path) -> None:
    p = policies(tmp_path, template("K8sExternal", EXTERNAL_REGO), constraint("K8sExternal", "e"),
                 external_data={"signer": {"nginx:1.25": "unsigned"}})
    assert messages(p, pod()) == ["nginx:1.25 is unsigned"]


def test_libs_and_rego_v1_templates(tmp_path: Path) -> None:
    lib = "package lib.helpers\n\nis_web(obj) {\n  obj.metadata.labels.tier == \"web\"\n}\n"
    v0 = template("K8sWebV0", 'package k8swebv0\nimport data.lib.helpers.is_web\nviolation[{"msg": "web"}] {\n  is_web(input.review.object)\n}\n', libs=[lib])
    v1 = template("K8sWebV1", 'package k8swebv1\nviolation contains {"msg": "web v1"} if {\n  input.review.object.metadata.labels.tier == "web"\n}\n', version="v1")
    p = policies(tmp_path, v0, v1, constraint("K8sWebV0", "a"), constraint("K8sWebV1", "b"))
    assert sorted(messages(p, pod(labels={"tier": "web"}))) == ["web", "web v1"]
    assert messages(p, pod()) == []


def test_engines_are_built_per_thread(tmp_path: Path) -> None:
    engine = GatekeeperEngine(policies(tmp_path, template("K8sRequiredLabelsX", LABELS_REGO),
                                       constraint("K8sRequiredLabelsX", "l", parameters={"labels": ["owner"]})))
    found: list[int] = []

    def run() -> None:
        found.append(len(engine.evaluate(EvaluationRequest([Document(pod(), "p.yaml")]))))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [1, 1, 1]


def test_v1beta1_templates_and_their_schema_are_read(tmp_path: Path) -> None:
    old = template("K8sRequiredLabelsX", LABELS_REGO, schema={"type": "object", "properties": {"labels": {"type": "array"}}})
    old["apiVersion"] = "templates.gatekeeper.sh/v1beta1"
    p = policies(tmp_path, old, constraint("K8sRequiredLabelsX", "l", parameters={"labels": ["owner"]}))
    assert messages(p, pod()) == ['you must provide labels: {"owner"}']


def test_a_cel_only_template_is_refused_when_k8s_native_validation_is_off(tmp_path: Path) -> None:
    from scanner.errors import PolicyError

    cel = template("K8sCelOnly", "package x\n")
    cel["spec"]["targets"] = [{"target": "admission.k8s.gatekeeper.sh",
                               "code": [{"engine": "K8sNativeValidation", "source": {"validations": [{"expression": "true"}]}}]}]
    path = write(tmp_path / "policies.yaml", cel, constraint("K8sCelOnly", "c"))
    with pytest.raises(PolicyError) as caught:
        load_policies([path], tmp_path, None, k8s_native_validation=False)
    assert "K8sNativeValidation is turned off" in str(caught.value) and "k8s_native_validation: true" in str(caught.value)


def test_a_template_named_unlike_its_kind_is_refused(tmp_path: Path) -> None:
    from scanner.errors import PolicyError

    bad = template("K8sRequiredLabelsX", LABELS_REGO)
    bad["metadata"]["name"] = "required-labels"
    with pytest.raises(PolicyError, match="k8srequiredlabelsx"):
        policies(tmp_path, bad)


def test_scoped_enforcement_takes_the_action_for_cdgates_enforcement_points(tmp_path: Path) -> None:
    def scoped(name: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
        doc = constraint("K8sRequiredLabelsX", name, parameters={"labels": ["owner"]}, action="scoped")
        doc["spec"]["scopedEnforcementActions"] = actions
        return doc

    docs = [
        template("K8sRequiredLabelsX", LABELS_REGO),
        scoped("audit-deny-admission-warn", [
            {"action": "deny", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]},
            {"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]},
        ]),
        scoped("audit-only", [{"action": "deny", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}]),
        scoped("everywhere", [{"action": "deny", "enforcementPoints": [{"name": "*"}]}]),
    ]
    engine = GatekeeperEngine(policies(tmp_path, *docs))
    levels = {r.rule_id: r.level for r in engine.evaluate(EvaluationRequest([Document(pod(), "p.yaml")]))}
    assert levels == {
        "gatekeeper:K8sRequiredLabelsX/audit-deny-admission-warn": Level.WARN,
        "gatekeeper:K8sRequiredLabelsX/everywhere": Level.DENY,
    }
