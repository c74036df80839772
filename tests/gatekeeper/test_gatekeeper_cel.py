"""K8sNativeValidation (CEL) code in ConstraintTemplates: the engine choice, Gatekeeper's variables, errors, the gate."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from gk_helpers import LABELS_REGO, constraint, pod, write, write_text
from scanner.engines.gatekeeper.client import GatekeeperPolicies, load_policies
from scanner.engines.gatekeeper.review import admission_review, build_inventory, object_review
from scanner.errors import PolicyError

TARGET = "admission.k8s.gatekeeper.sh"

LABELS_CEL = {
    "variables": [{"name": "missing",
                   "expression": "variables.params.labels.filter(l, !has(variables.anyObject.metadata.labels) || "
                                 "!(l in variables.anyObject.metadata.labels))"}],
    "validations": [{"expression": "size(variables.missing) == 0",
                     "messageExpression": '"cel: missing labels: " + variables.missing.join(", ")'}],
}


def cel_template(kind: str, source: dict[str, Any], *, rego: str | None = None) -> dict[str, Any]:
    code: list[dict[str, Any]] = [{"engine": "K8sNativeValidation", "source": source}]
    if rego is not None:
        code.append({"engine": "Rego", "source": {"rego": rego}})
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower()},
        "spec": {"crd": {"spec": {"names": {"kind": kind}}}, "targets": [{"target": TARGET, "code": code}]},
    }


def policies(tmp_path: Path, *docs: dict[str, Any], k8s_native_validation: bool = True) -> GatekeeperPolicies:
    return load_policies([write(tmp_path / "policies.yaml", *docs)], tmp_path, None, k8s_native_validation)


def violations(p: GatekeeperPolicies, obj: dict[str, Any], inventory: dict[str, Any] | None = None,
               **review: Any) -> list[str]:
    outcome = p.review(object_review(obj, **review), inventory or {})
    assert not outcome.errors, outcome.errors
    return [v.message for v in outcome.violations]


def test_a_cel_only_template_reports_with_the_constraints_parameters(tmp_path: Path) -> None:
    p = policies(tmp_path, cel_template("K8sLabelsCel", LABELS_CEL),
                 constraint("K8sLabelsCel", "need-owner", parameters={"labels": ["owner", "team"]}))
    assert violations(p, pod(labels={"team": "a"})) == ["cel: missing labels: owner"]
    assert violations(p, pod(labels={"team": "a", "owner": "b"})) == []
    outcome = p.review(object_review(pod()), {})
    assert [(v.constraint.rule_id, v.engine) for v in outcome.violations] == [
        ("gatekeeper:K8sLabelsCel/need-owner", "K8sNativeValidation")]


def test_cel_wins_over_rego_as_in_gatekeeper_unless_turned_off(tmp_path: Path) -> None:
    both = cel_template("K8sRequiredLabelsX", LABELS_CEL, rego=LABELS_REGO)
    c = constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]})
    assert violations(policies(tmp_path, both, c), pod()) == ["cel: missing labels: owner"]
    assert violations(policies(tmp_path, both, c, k8s_native_validation=False), pod()) == [
        'you must provide labels: {"owner"}']


def test_params_is_the_constraint_and_visible_to_variables_only(tmp_path: Path) -> None:
    source = {"variables": [{"name": "who", "expression": "params.metadata.name + '/' + params.kind"}],
              "validations": [{"expression": "false", "messageExpression": "'seen by ' + variables.who"}]}
    p = policies(tmp_path, cel_template("K8sWho", source), constraint("K8sWho", "the-constraint"))
    assert violations(p, pod()) == ["seen by the-constraint/K8sWho"]
    direct = {"validations": [{"expression": "params.spec.parameters.x == 1"}]}
    with pytest.raises(PolicyError) as caught:
        policies(tmp_path, cel_template("K8sDirect", direct), constraint("K8sDirect", "d"))
    assert "variables.params" in (caught.value.hint or "")


def test_messages_follow_kubernetes_order(tmp_path: Path) -> None:
    source = {"validations": [
        {"expression": "object.metadata.name != 'web'", "message": "static message"},
        {"expression": "object.metadata.name != 'web'"},
        {"expression": "object.metadata.name != 'web'", "messageExpression": "'dynamic ' + object.metadata.name",
         "message": "not used"},
        {"expression": "true", "message": "never"},
        {"expression": "false", "messageExpression": "'two\\nlines'", "message": "line breaks fall back"},
    ]}
    p = policies(tmp_path, cel_template("K8sMsgs", source), constraint("K8sMsgs", "m"))
    assert violations(p, pod("web")) == ["static message", "failed expression: object.metadata.name != 'web'",
                                         "dynamic web", "line breaks fall back"]
    assert violations(p, pod("api")) == ["line breaks fall back"]


def test_match_condition_false_skips_and_the_plural_spelling_is_refused(tmp_path: Path) -> None:
    source = {"matchCondition": [{"name": "only-prod", "expression": "object.metadata.namespace == 'prod'"}],
              "validations": [{"expression": "false", "message": "prod pod"}]}
    p = policies(tmp_path, cel_template("K8sProd", source), constraint("K8sProd", "p"))
    assert violations(p, pod(namespace="prod")) == ["prod pod"]
    assert violations(p, pod(namespace="dev")) == []
    plural = {"matchConditions": source["matchCondition"], "validations": source["validations"]}
    with pytest.raises(PolicyError, match="matchCondition"):
        policies(tmp_path, cel_template("K8sPlural", plural), constraint("K8sPlural", "p"))


def test_delete_sees_null_object_and_any_object_is_the_old_one(tmp_path: Path) -> None:
    source = {"validations": [{"expression": "object != null",
                               "messageExpression": "'deleting ' + variables.anyObject.metadata.name + ' by ' + "
                                                    "request.userInfo.username"}]}
    p = policies(tmp_path, cel_template("K8sNoDelete", source), constraint("K8sNoDelete", "d"))
    review = admission_review({"operation": "DELETE", "oldObject": pod("old-web"), "userInfo": {"username": "ann"}})
    outcome = p.review(review, {})
    assert [v.message for v in outcome.violations] == ["deleting old-web by ann"]
    assert violations(p, pod("web"), operation="CREATE") == []


def test_namespace_object_comes_from_the_synced_namespace(tmp_path: Path) -> None:
    source = {"validations": [{"expression": "namespaceObject != null && "
                                             "namespaceObject.metadata.labels['tier'] == 'gold'",
                               "message": "namespace is not gold"}]}
    p = policies(tmp_path, cel_template("K8sGold", source), constraint("K8sGold", "g"))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"tier": "gold"}}}
    assert violations(p, pod(namespace="team-a"), build_inventory([namespace])) == []
    assert violations(p, pod(namespace="team-a")) == ["namespace is not gold"]


def test_runtime_errors_are_errors_unless_failure_policy_ignore(tmp_path: Path) -> None:
    source = {"validations": [{"expression": "object.spec.missing.deeper == 1", "message": "m"}]}
    p = policies(tmp_path, cel_template("K8sFails", source), constraint("K8sFails", "f"))
    outcome = p.review(object_review(pod()), {})
    assert outcome.violations == []
    [error] = outcome.errors
    assert "gatekeeper:K8sFails/f" in error.message and "K8sNativeValidation failed" in error.message
    assert "object.spec.missing.deeper" in error.message
    ignored = policies(tmp_path, cel_template("K8sFails", {**source, "failurePolicy": "Ignore"}), constraint("K8sFails", "f"))
    outcome = ignored.review(object_review(pod()), {})
    assert outcome.errors == [] and outcome.violations == []


def test_a_syntax_error_names_the_file_line_expression_and_position(tmp_path: Path) -> None:
    source = {"variables": [{"name": "ok", "expression": "true"}],
              "validations": [{"expression": "object.metadata.(name", "message": "m"}]}
    with pytest.raises(PolicyError) as caught:
        policies(tmp_path, cel_template("K8sSyntax", source), constraint("K8sSyntax", "s"))
    error = caught.value
    text = (tmp_path / "policies.yaml").read_text().splitlines()
    assert error.path == "policies.yaml"
    assert error.line is not None and "object.metadata.(name" in text[error.line - 1]
    assert "validations[0].expression" in str(error) and "at 1:" in str(error) and "k8ssyntax" in str(error)


@pytest.mark.parametrize(("source", "says"), [
    ({"variables": [{"name": "params", "expression": "1"}], "validations": [{"expression": "true"}]}, "reserves"),
    ({"variables": [{"name": "gatekeeper_internal_x", "expression": "1"}], "validations": [{"expression": "true"}]},
     "reserves"),
    ({"validations": []}, "nothing would be checked"),
    ({"validations": [{"expression": "true"}], "failurePolicy": "Sometimes"}, "failurePolicy"),
    ({"validations": [{"expression": "nosuchfn(object)"}]}, "nosuchfn"),
], ids=["params-variable", "reserved-prefix", "no-validations", "bad-failure-policy", "unknown-function"])
def test_bad_cel_sources_are_refused_at_load(tmp_path: Path, source: dict[str, Any], says: str) -> None:
    with pytest.raises(PolicyError, match=says):
        policies(tmp_path, cel_template("K8sBad", source), constraint("K8sBad", "b"))


def test_evaluation_from_many_threads_agrees(tmp_path: Path) -> None:
    p = policies(tmp_path, cel_template("K8sLabelsCel", LABELS_CEL),
                 constraint("K8sLabelsCel", "need-owner", parameters={"labels": ["owner"]}))
    seen: list[list[str]] = []

    def work(i: int) -> None:
        labels = {"owner": "x"} if i % 2 else {}
        seen.append(violations(p, pod(f"p{i}", labels=labels)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    assert sorted(map(tuple, seen)) == sorted([()] * 4 + [("cel: missing labels: owner",)] * 4)


# --- in the gate (`cdgate check`) ---

def _repo(tmp_path: Path, *policy_docs: dict[str, Any], extra: str = "") -> Path:
    write(tmp_path / "policies" / "gatekeeper.yaml", *policy_docs)
    write(tmp_path / "manifests" / "pod.yaml", pod("web", labels={"app": "web"}))
    write_text(tmp_path / "gate.yaml", f"""\
        version: 1
        rego: {{bundled: false}}
        gatekeeper:
          policies: [policies]
          {extra}
        """)
    return tmp_path


def _check(root: Path) -> tuple[int, dict[str, Any], str]:
    import json

    from conftest import run_cdgate

    out = root / "verdict.json"
    result = run_cdgate("check", str(root / "manifests"), "--profile", str(root / "gate.yaml"), "--root", str(root),
                        "-f", "json", "-o", str(out), cwd=root)
    return result.returncode, json.loads(out.read_text()) if out.exists() else {}, result.stderr


def test_a_cel_only_constraint_fails_the_gate_with_rule_id_and_line(tmp_path: Path) -> None:
    root = _repo(tmp_path, cel_template("K8sLabelsCel", LABELS_CEL),
                 constraint("K8sLabelsCel", "need-owner", parameters={"labels": ["owner"]}))
    code, data, stderr = _check(root)
    assert code == 1, stderr
    [finding] = [f for f in data["findings"] if f["rule_id"].startswith("gatekeeper:")]
    assert finding["rule_id"] == "gatekeeper:K8sLabelsCel/need-owner"
    assert finding["message"] == "cel: missing labels: owner"
    assert finding["outcome"] == "fail"
    assert finding["location"]["path"] == "manifests/pod.yaml"
    assert finding["location"]["start_line"] == 1
    assert finding["properties"]["templateEngine"] == "K8sNativeValidation"


def test_a_cel_warn_constraint_warns(tmp_path: Path) -> None:
    root = _repo(tmp_path, cel_template("K8sLabelsCel", LABELS_CEL),
                 constraint("K8sLabelsCel", "need-owner", parameters={"labels": ["owner"]}, action="warn"))
    code, data, stderr = _check(root)
    assert code == 0, stderr
    assert [f["outcome"] for f in data["findings"] if f["rule_id"].startswith("gatekeeper:")] == ["warn"]


def test_a_cel_error_exits_2_with_file_and_line(tmp_path: Path) -> None:
    root = _repo(tmp_path, cel_template("K8sSyntax", {"validations": [{"expression": "object.metadata.(name"}]}),
                 constraint("K8sSyntax", "s"))
    code, _, stderr = _check(root)
    assert code == 2
    line = int(stderr.split("policies/gatekeeper.yaml:")[1].split(":")[0])
    text = (root / "policies" / "gatekeeper.yaml").read_text().splitlines()
    assert "object.metadata.(name" in text[line - 1], stderr
    assert "K8sNativeValidation" in stderr and "at 1:" in stderr


def test_a_cel_runtime_error_in_the_gate_exits_2(tmp_path: Path) -> None:
    root = _repo(tmp_path, cel_template("K8sFails", {"validations": [{"expression": "object.spec.nope.deeper == 1"}]}),
                 constraint("K8sFails", "f"))
    code, data, stderr = _check(root)
    assert code == 2, stderr
    errors = [f for f in data["findings"] if f["outcome"] == "error"]
    assert errors and "K8sNativeValidation failed" in errors[0]["message"]


def test_the_profile_can_turn_k8s_native_validation_off(tmp_path: Path) -> None:
    both = cel_template("K8sRequiredLabelsX", LABELS_CEL, rego=LABELS_REGO)
    c = constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]})
    _, data, stderr = _check(_repo(tmp_path, both, c))
    assert [f["message"] for f in data["findings"] if f["rule_id"].startswith("gatekeeper:")] == [
        "cel: missing labels: owner"], stderr
    _, data, stderr = _check(_repo(tmp_path, both, c, extra="k8s_native_validation: false"))
    assert [f["message"] for f in data["findings"] if f["rule_id"].startswith("gatekeeper:")] == [
        'you must provide labels: {"owner"}'], stderr


def test_verify_prints_the_engine_and_can_run_the_rego_instead() -> None:
    from conftest import run_cdgate

    suite = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "gatekeeper-library" / "library" / \
        "pod-security-policy" / "privileged-containers"
    if not suite.is_dir():
        pytest.skip("gatekeeper-library corpus missing")
    default = run_cdgate("gatekeeper", "verify", str(suite))
    assert default.returncode == 0 and "PASS" in default.stdout and "[K8sNativeValidation]" in default.stdout
    rego = run_cdgate("gatekeeper", "verify", "--disable-k8s-native-validation", str(suite))
    assert rego.returncode == 0 and "[Rego]" in rego.stdout


def test_a_cel_violation_points_at_the_field_its_message_names(tmp_path: Path) -> None:
    digests = {"validations": [{
        "expression": "variables.anyObject.spec.containers.all(c, c.image.contains('@'))",
        "messageExpression": "variables.anyObject.spec.containers.filter(c, !c.image.contains('@'))"
                             ".map(c, 'container ' + c.name + ' uses ' + c.image + ' without a digest').join(', ')"}]}
    root = _repo(tmp_path, cel_template("K8sDigests", digests), constraint("K8sDigests", "pin"))
    code, data, stderr = _check(root)
    assert code == 1, stderr
    [finding] = [f for f in data["findings"] if f["rule_id"] == "gatekeeper:K8sDigests/pin"]
    assert finding["message"] == "container app uses nginx:1.25 without a digest"
    assert finding["location"]["json_path"] == "spec.containers[0].image"
    lines = (root / "manifests" / "pod.yaml").read_text().splitlines()
    assert "nginx:1.25" in lines[finding["location"]["start_line"] - 1]


def test_gatekeeper_test_runs_cel_templates(tmp_path: Path) -> None:
    from conftest import run_cdgate

    path = write(tmp_path / "all.yaml", cel_template("K8sLabelsCel", LABELS_CEL),
                 constraint("K8sLabelsCel", "need-owner", parameters={"labels": ["owner"]}), pod("web"))
    result = run_cdgate("gatekeeper", "test", "-f", str(path))
    assert result.returncode == 1, result.stderr
    assert "[need-owner] (deny) cel: missing labels: owner" in result.stdout
