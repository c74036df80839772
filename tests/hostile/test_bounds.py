"""Issue 15, "crashes and hangs": input that would crash or run away ends in exit 2, in bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.fixtures import PRIVILEGED_POD, profile, write
from tests.hostile.harness import assert_contained, run_bounded

RECURSION = """\
package main

f(x) := f(x)

deny contains msg if {
    f(input.kind)
    msg := "never"
}
"""

HUGE_RANGE = """\
package main

deny contains msg if {
    xs := [x | some x in numbers.range(1, 2000000000)]
    count(xs) > 0
    msg := "never"
}
"""


def _rego_repo(tmp_path: Path, policy: str, documents: int = 1) -> None:
    pods = [dict(PRIVILEGED_POD, metadata={"name": f"p{i}"}) for i in range(documents)]
    write(tmp_path / "manifests/pods.yaml", "\n---\n".join(json.dumps(p) for p in pods))
    write(tmp_path / "policies/team.rego", policy)
    profile(tmp_path, "rego:\n  policies: [policies]\n")


@pytest.mark.parametrize(("policy", "reason"), [(RECURSION, "crashed"), (HUGE_RANGE, "aborted")], ids=["recursion", "huge-range"])
def test_runaway_rego_is_an_error_naming_the_policy(tmp_path: Path, policy: str, reason: str) -> None:
    _rego_repo(tmp_path, policy)
    run = run_bounded("check", "manifests", "--profile", "gate.yaml", "-f", "json", cwd=tmp_path)
    assert_contained(run, 2)
    errors = [f for f in json.loads(run.stdout)["findings"] if f["outcome"] == "error"]
    assert [e["properties"].get("policy") for e in errors] == ["main"], errors
    assert reason in errors[0]["message"] and "policies/team.rego" in errors[0]["message"]
    assert errors[0]["location"]["path"] == "manifests/pods.yaml"


def test_recursion_with_four_hundred_documents_ends(tmp_path: Path) -> None:
    _rego_repo(tmp_path, RECURSION, documents=400)
    run = run_bounded("check", "manifests", "--profile", "gate.yaml", "-q", cwd=tmp_path)
    assert_contained(run, 2)


def test_policy_test_with_recursion_reports_an_error_and_runs_the_rest(tmp_path: Path) -> None:
    write(tmp_path / "policies/team.rego", RECURSION)
    write(
        tmp_path / "policies/team_test.rego",
        """\
        package main

        test_recursion if {
            count(deny) == 0 with input as {"kind": "Pod"}
        }

        test_after if { 1 == 1 }
        """,
    )
    run = run_bounded("policy", "test", "policies", cwd=tmp_path)
    assert_contained(run, 2)
    assert "ERROR data.main.test_recursion" in run.stdout and "PASS data.main.test_after" in run.stdout


def _chart(repo: Path, templates: dict[str, str], values: str = "") -> None:
    write(repo / "chart/Chart.yaml", "apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    write(repo / "chart/values.yaml", values)
    for name, text in templates.items():
        write(repo / "chart/templates" / name, text)


FINE_TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("template", "values"),
    [
        ("data:\n  v: {{ tpl .Values.loop . | quote }}\n", 'loop: "{{ tpl .Values.loop . }}"\n'),
        ("data:\n{{- range $i := until 100000000 }}\n  k{{ $i }}: x\n{{- end }}\n", ""),
        ('data:\n  v: {{ repeat 2000000000 "x" | quote }}\n', ""),
    ],
    ids=["tpl-recursion", "range-until-1e8", "repeat-2e9"],
)
def test_runaway_helm_template_is_a_render_error_naming_the_template(tmp_path: Path, template: str, values: str) -> None:
    runaway = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: runaway}\n" + template
    _chart(tmp_path, {"fine.yaml": FINE_TEMPLATE, "runaway.yaml": runaway}, values)
    run = run_bounded("check", "chart", "-f", "json", cwd=tmp_path)
    assert_contained(run, 2)
    errors = [f for f in json.loads(run.stdout)["findings"] if f["outcome"] == "error"]
    assert [e["location"]["path"] for e in errors] == ["chart/templates/runaway.yaml"], errors
    assert "was not checked" in errors[0]["message"]


@pytest.mark.slow
def test_chart_after_a_crashed_one_still_renders(tmp_path: Path) -> None:
    _chart(tmp_path / "a", {"x.yaml": FINE_TEMPLATE + "data:\n  v: {{ tpl .Values.loop . | quote }}\n"},
           'loop: "{{ tpl .Values.loop . }}"\n')
    _chart(tmp_path / "b", {"x.yaml": FINE_TEMPLATE})
    run = run_bounded("check", "a/chart", "b/chart", "-f", "json", cwd=tmp_path)
    assert_contained(run, 2)
    gates = {g["name"]: g for g in json.loads(run.stdout)["gates"]}
    assert gates["inputs"]["documents"] == 1


@pytest.mark.parametrize(
    ("pattern", "value"),
    [("*a" * 20 + "c", "a" * 40), ("*/*/*:*", "r/" + "x" * 12_000)],
    ids=["star-a-twenty-times", "image-12kb"],
)
def test_kyverno_wildcards_match_in_linear_time(tmp_path: Path, pattern: str, value: str) -> None:
    pod = dict(PRIVILEGED_POD, metadata={"name": "p", "labels": {"team": value[:63] if len(value) <= 63 else "t"}})
    pod["spec"] = {"containers": [{"name": "c", "image": value}]}
    field = "metadata:\n              labels:\n                team" if len(value) <= 63 else (
        "spec:\n              containers:\n              - image")
    write(tmp_path / "pod.yaml", json.dumps(pod))
    write(
        tmp_path / "kyverno/policy.yaml",
        f"""\
        apiVersion: kyverno.io/v1
        kind: ClusterPolicy
        metadata: {{name: wildcard}}
        spec:
          validationFailureAction: Enforce
          rules:
          - name: shape
            match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}
            validate:
              message: does not match
              pattern:
                {field}: {json.dumps(pattern)}
        """,
    )
    profile(tmp_path, "rego:\n  bundled: false\nkyverno:\n  policies: [kyverno]\n")
    run = run_bounded("check", "pod.yaml", "--profile", "gate.yaml", "-f", "json", cwd=tmp_path, wall_clock_s=30)
    assert_contained(run, 1)
    failing = [f for f in json.loads(run.stdout)["findings"] if f["outcome"] == "fail"]
    assert [f["rule_id"] for f in failing] == ["kyverno:wildcard/shape"], failing
