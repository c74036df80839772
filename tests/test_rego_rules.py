"""Issue 8, problem 6: result rules are found from regorus' parse, with conftest's naming."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engines.base import EvaluationRequest
from scanner.engines.rego import RegoPolicySet
from scanner.engines.rego_rules import collect_rules, exception_name
from scanner.errors import PolicyError
from scanner.inputs.document import Document

ONLY_SUFFIXED = """package main
import rego.v1

# deny contains msg if { false }   <- a comment is not a rule
note := "warn contains nothing"

deny_privileged contains msg if {
    some c in input.spec.containers
    c.securityContext.privileged
    msg := sprintf("%s is privileged", [c.name])
}

warn_latest_tag contains msg if {
    some c in input.spec.containers
    endswith(c.image, ":latest")
    msg := "latest tag"
}

deny_helper(x) := x   # a function is not a result rule
denylist := ["a"]     # neither is a name that only starts like one
"""


def test_suffixed_rules_are_collected_and_lookalikes_are_not():
    [package] = collect_rules({"p.rego": ONLY_SUFFIXED})
    assert package.name == "main"
    assert package.rules == ["deny_privileged", "warn_latest_tag"]
    assert exception_name("deny_privileged") == "privileged" and exception_name("deny") is None


def test_a_policy_whose_only_rule_is_deny_privileged_is_evaluated(tmp_path: Path):
    (tmp_path / "p.rego").write_text(ONLY_SUFFIXED, encoding="utf-8")
    policy_set = RegoPolicySet.compile([tmp_path], namespaces=("main",))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "app", "image": "nginx:latest", "securityContext": {"privileged": True}}]}}
    results = policy_set.evaluate(EvaluationRequest([Document(pod, "pod.yaml")], None))
    assert sorted((r.level.value, r.message) for r in results) == [("deny", "app is privileged"), ("warn", "latest tag")]


def test_a_policy_directory_with_no_result_rule_is_a_configuration_error(tmp_path: Path):
    (tmp_path / "lib.rego").write_text("package main\nimport rego.v1\nis_pod if input.kind == \"Pod\"\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="no rule to evaluate"):
        RegoPolicySet.compile([tmp_path], namespaces=("main",))


def test_repo_mode_is_read_from_the_parsed_assignment():
    text = 'package cdgate.x\nimport rego.v1\ninput_mode := "repo"\ndeny contains 1 if false\n'
    [package] = collect_rules({"x.rego": text})
    assert package.repo_mode


def test_a_team_policy_that_opa_decides_differently_gets_a_note_at_its_line(tmp_path: Path):
    (tmp_path / "probes.rego").write_text(
        "package main\nimport rego.v1\n\ndeny contains msg if {\n    some c in input.spec.containers\n"
        "    not is_object(c[\"livenessProbe\"])\n    msg := \"no probe\"\n}\n",
        encoding="utf-8",
    )
    policy_set = RegoPolicySet.compile([tmp_path], namespaces=("main",), root=tmp_path)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}
    results = policy_set.evaluate(EvaluationRequest([Document(pod, "pod.yaml")], None))
    [note] = [r for r in results if r.rule_id == "CDG-REGO-001"]
    assert note.location is not None and (note.location.path, note.location.start_line) == ("probes.rego", 6)
    assert note.level.value == "warn" and "real OPA" in note.message
    assert [r.message for r in results if r.rule_id is None] == ["no probe"]
