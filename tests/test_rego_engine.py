"""The Rego engine: conftest conventions, repo mode, fail-closed errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engines.base import Level
from scanner.engines.base import EvaluationRequest
from scanner.engines.rego import RegoPolicySet
from scanner.errors import PolicyError
from scanner.inputs.document import Document

POD_POLICY = """package main
import rego.v1

deny contains {"msg": sprintf("container %s is privileged", [c.name]), "rule_id": "X-1",
               "path": ["spec", "containers", i, "securityContext", "privileged"]} if {
    some i, c in input.spec.containers
    c.securityContext.privileged == true
}

warn contains "pods should be managed by a controller" if input.kind == "Pod"

violation contains msg if {
    input.kind == "Pod"
    not input.metadata.labels.app
    msg := "missing app label"
}
"""


def pod(name: str, privileged: bool = False, scope: str | None = None) -> Document:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "x", "securityContext": {"privileged": privileged}}]},
    }
    line_map = {("spec", "containers", 0, "securityContext", "privileged"): 9}
    return Document(obj, f"{name}.yaml", start_line=1, end_line=10, line_map=line_map, scope=scope)


def compile_dir(tmp_path: Path, files: dict[str, str], **kwargs) -> RegoPolicySet:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return RegoPolicySet.compile([tmp_path], **kwargs)


def test_conftest_rules_and_result_shapes(tmp_path):
    policies = compile_dir(tmp_path, {"pod.rego": POD_POLICY})
    results = policies.evaluate(EvaluationRequest([pod("bad", privileged=True), pod("good")]))
    bad = [r for r in results if r.document.name == "bad"]
    by_level = {(r.level, r.message) for r in bad}
    assert (Level.DENY, "container app is privileged") in by_level
    assert (Level.DENY, "missing app label") in by_level  # violation counts as deny
    assert (Level.WARN, "pods should be managed by a controller") in by_level
    priv = next(r for r in bad if r.rule_id == "X-1")
    assert priv.json_path == "spec.containers[0].securityContext.privileged"
    assert not any(r.rule_id == "X-1" for r in results if r.document.name == "good")


def test_non_resources_are_not_evaluated(tmp_path):
    policies = compile_dir(tmp_path, {"p.rego": 'package main\nimport rego.v1\ndeny contains "always" if true\n'})
    values = Document({"replicaCount": 3}, "values.yaml")
    assert policies.evaluate(EvaluationRequest([values])) == []


def test_namespaces_select_packages(tmp_path):
    files = {
        "a.rego": 'package team.a\nimport rego.v1\ndeny contains "a" if true\n',
        "b.rego": 'package other\nimport rego.v1\ndeny contains "b" if true\n',
    }
    policies = compile_dir(tmp_path, files, namespaces=["team"])
    assert {r.message for r in policies.evaluate(EvaluationRequest([pod("p")]))} == {"a"}


def test_repo_mode_sees_all_documents(tmp_path):
    policy = """package cdgate.cross
import rego.v1
input_mode := "repo"
deny contains {"msg": sprintf("%d pods share a name", [count(input.documents)]), "document": i} if {
    some i, d in input.documents
    d.contents.metadata.name == "dup"
}
"""
    policies = compile_dir(tmp_path, {"cross.rego": policy})
    results = policies.evaluate(EvaluationRequest([pod("a"), pod("dup"), pod("c")]))
    assert len(results) == 1
    assert results[0].document.name == "dup"
    assert results[0].message == "3 pods share a name"


def test_environment_context_and_params(tmp_path):
    policy = """package main
import rego.v1
deny contains sprintf("env=%s max=%d", [data.cdgate_context.environment, data.cdgate_params.max]) if true
"""
    policies = compile_dir(tmp_path, {"p.rego": policy}, params={"max": 7})
    msgs = {r.message for r in policies.evaluate(EvaluationRequest([pod("a", scope="prod"), pod("b", scope="dev")]))}
    assert msgs == {"env=prod max=7", "env=dev max=7"}


def test_syntax_error_names_file_and_line(tmp_path):
    with pytest.raises(PolicyError) as info:
        compile_dir(tmp_path, {"broken.rego": "package main\nimport rego.v1\n\ndeny contains x if {\n  x := \n}\n"})
    assert info.value.path.endswith("broken.rego")
    assert info.value.line in (5, 6)
    assert "Stack backtrace" not in str(info.value)


def test_evaluation_error_fails_closed_and_keeps_other_packages(tmp_path):
    files = {
        "boom.rego": 'package main\nimport rego.v1\ndeny contains m if { m := sprintf("%d", [input.metadata.name + 1]) }\n',
        "fine.rego": 'package cdgate.fine\nimport rego.v1\ndeny contains "fine" if true\n',
    }
    policies = compile_dir(tmp_path, files)
    results = policies.evaluate(EvaluationRequest([pod("a")]))
    errors = [r for r in results if r.level is Level.ERROR]
    assert len(errors) == 1 and "boom.rego" in errors[0].message and "a.yaml" in errors[0].message
    assert any(r.message == "fine" for r in results)


def test_missing_policy_path_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError):
        RegoPolicySet.compile([tmp_path / "nope"])
