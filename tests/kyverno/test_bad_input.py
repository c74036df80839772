"""Invalid policies fail closed with an error naming the policy and rule;
pathological policies cannot hang the gate."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from scanner.engines.kyverno import load_policies
from scanner.errors import PolicyError
from scanner.inputs import Document

BASE = {
    "apiVersion": "kyverno.io/v1",
    "kind": "ClusterPolicy",
    "metadata": {"name": "broken-policy"},
    "spec": {"rules": []},
}


def write_policy(tmp_path: Path, rule: dict) -> Path:
    policy = {**BASE, "spec": {"rules": [{"name": "broken-rule", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}, **rule}]}}
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))  # JSON is YAML, and dumps deep nesting
    return path


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"validate": {"deny": {"conditions": {"any": [{"key": "a", "operator": "Equalz", "value": "a"}]}}}}, "unknown operator"),
        ({"validate": {"pattern": {"spec": {"=(hostPID": False}}}}, "malformed anchor"),
        ({"validate": {"deny": {"conditions": {"any": [{"key": "{{ request.object.[ }}", "operator": "Equals", "value": "a"}]}}}}, "invalid JMESPath"),
        ({"validate": {"deny": {"conditions": {"any": [{"key": "{{ nosuchthing.field }}", "operator": "Equals", "value": "a"}]}}}}, "unknown variable"),
        ({"preconditions": {"all": [{"key": "x", "operator": "Bigger", "value": 1}]}, "validate": {"pattern": {"spec": {}}}}, "unknown operator"),
        ({"validate": {"message": "no check"}}, "validate needs one of"),
        ({"validate": {"cel": {"expressions": []}}}, "validate.cel needs a list of expressions"),
        ({"validate": {"cel": {"expressions": [{"expression": "object.spec.("}]}}}, "expressions[0].expression: CEL expression"),
        ({"validate": {"cel": {"expressions": [{"expression": "object.nosuchfn()"}]}}}, "undeclared reference to 'nosuchfn'"),
    ],
)
def test_invalid_policy_names_policy_and_rule(tmp_path: Path, rule: dict, fragment: str) -> None:
    path = write_policy(tmp_path, rule)
    with pytest.raises(PolicyError) as caught:
        load_policies([path])
    text = str(caught.value)
    assert "broken-policy" in text and "broken-rule" in text
    assert fragment in text
    assert str(path) in text


def test_context_entries_are_known_variables(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        {
            "context": [{"name": "limits", "variable": {"value": {"max": 3}}}],
            "validate": {"deny": {"conditions": {"any": [{"key": "{{ limits.max }}", "operator": "LessThan", "value": 1}]}}},
        },
    )
    assert load_policies([path]).rule_count == 3  # the rule, autogen- and autogen-cronjob-


def test_yaml_error_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: x\n")
    with pytest.raises(PolicyError) as caught:
        load_policies([path])
    assert caught.value.path == str(path) and caught.value.line is not None


def test_missing_path_is_an_error() -> None:
    with pytest.raises(PolicyError):
        load_policies(["/nonexistent/policies"])


def _doc(obj: dict) -> Document:
    return Document(obj=obj, path="pod.yaml")


def test_pathological_foreach_is_stopped_with_an_error(tmp_path: Path) -> None:
    inner = {"list": "request.object.spec.items", "deny": {"conditions": {"any": [{"key": "{{ element }}", "operator": "Equals", "value": -1}]}}}
    path = write_policy(tmp_path, {"validate": {"foreach": [{"list": "request.object.spec.items", "foreach": [inner]}]}})
    policy_set = load_policies([path])
    policy_set.seconds_per_rule = 0.5
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"}, "spec": {"items": list(range(5000))}}
    started = time.perf_counter()
    results = policy_set.evaluate([_doc(pod)])
    elapsed = time.perf_counter() - started
    errors = [r for r in results if r.level.value == "error" and r.rule_id == "kyverno:broken-policy/broken-rule"]
    assert errors, results
    assert "broken-policy" in errors[0].message and "broken-rule" in errors[0].message
    assert elapsed < 10


def test_deeply_nested_pattern_is_bounded(tmp_path: Path) -> None:
    pattern: dict = {"leaf": "x"}
    resource: dict = {"leaf": "x"}
    for _ in range(400):
        pattern = {"n": pattern}
        resource = {"n": resource}
    path = write_policy(tmp_path, {"validate": {"pattern": {"spec": pattern}}})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "deep"}, "spec": resource}
    results = load_policies([path]).evaluate([_doc(pod)])
    assert any(r.level.value == "error" and "nested" in r.message for r in results)


def test_catastrophic_regex_does_not_hang(tmp_path: Path) -> None:
    condition = {"key": "{{ regex_match('^(a|aa)+$', request.object.metadata.name) }}", "operator": "Equals", "value": True}
    path = write_policy(tmp_path, {"validate": {"deny": {"conditions": {"any": [condition]}}}})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a" * 5000 + "b"}, "spec": {}}
    started = time.perf_counter()
    load_policies([path]).evaluate([_doc(pod)])
    assert time.perf_counter() - started < 10


def test_malformed_resources_never_crash_the_engine() -> None:
    policy_set = load_policies([Path(__file__).resolve().parents[2] / "policies" / "kyverno"])
    weird = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": "x", "spec": ["a"]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 1, "labels": {"a": 1}}, "spec": {"containers": "nope"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}, "spec": {"template": [1]}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {}, "spec": {"jobTemplate": "x"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": [1, 2]},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": "z"},
         "spec": {"containers": [None, 3, {"image": None}], "securityContext": 5}},
    ]
    for obj in weird:
        results = policy_set.evaluate([_doc(obj)])
        assert not [r for r in results if "internal engine error" in r.message], obj
    # a structurally wrong Pod is still judged: it fails, it does not pass
    assert any(r.level.value == "deny" for r in policy_set.evaluate([_doc(weird[1])]))


def test_cyclic_and_exploding_yaml_is_an_error_not_a_hang(tmp_path: Path) -> None:
    from scanner.engines.kyverno.yamlio import load_one

    policy_set = load_policies([Path(__file__).resolve().parents[2] / "policies" / "kyverno"])
    cyclic = load_one("apiVersion: v1\nkind: Pod\nmetadata: {name: loop}\nspec: &s\n  containers: [*s]\n")
    laughs = "apiVersion: v1\nkind: Pod\nmetadata: {name: lol}\nspec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        laughs += f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    laughs += "  containers: [*a8]\n"
    for obj in (cyclic, load_one(laughs)):
        started = time.perf_counter()
        results = policy_set.evaluate([_doc(obj)])
        assert time.perf_counter() - started < 5
        assert results and all(r.level.value == "error" and "cyclic or larger" in r.message for r in results)


def test_cyclic_policy_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "cyclic.yaml"
    path.write_text(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: cyc}\nspec:\n  rules:\n"
        "  - name: r\n    match: {any: [{resources: {kinds: [Pod]}}]}\n"
        "    validate:\n      pattern: &p\n        spec: [*p]\n"
    )
    with pytest.raises(PolicyError, match="cyclic"):
        load_policies([path])
