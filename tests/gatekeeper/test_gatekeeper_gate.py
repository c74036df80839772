"""Gatekeeper in `cdgate check`: findings through the pipeline, and bad policies exit 2 with file and line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import run_cdgate
from gk_helpers import LABELS_REGO, constraint, pod, template, write, write_text

SCHEMA = {"type": "object", "properties": {"labels": {"type": "array", "items": {"type": "string"}}}}


def repo(tmp_path: Path, *policy_docs: dict, gate_extra: str = "") -> Path:
    write(tmp_path / "policies" / "gatekeeper.yaml", *policy_docs)
    write(tmp_path / "manifests" / "pod.yaml", pod("web", labels={"app": "web"}))
    write_text(tmp_path / "gate.yaml", f"""\
        version: 1
        rego: {{bundled: false}}
        gatekeeper:
          policies: [policies]
        {gate_extra}
        """)
    return tmp_path


def check(root: Path) -> tuple[int, dict, str]:
    out = root / "verdict.json"
    result = run_cdgate("check", str(root / "manifests"), "--profile", str(root / "gate.yaml"), "--root", str(root),
                        "-f", "json", "-o", str(out), cwd=root)
    data = json.loads(out.read_text()) if out.exists() else {}
    return result.returncode, data, result.stderr


def findings(data: dict) -> list[dict]:
    return list(data.get("findings", []))


def test_a_violated_deny_constraint_fails_the_gate_with_its_rule_id(tmp_path: Path) -> None:
    root = repo(tmp_path, template("K8sRequiredLabelsX", LABELS_REGO, schema=SCHEMA),
                constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]}))
    code, data, stderr = check(root)
    assert code == 1, stderr
    [finding] = [f for f in findings(data) if f["rule_id"].startswith("gatekeeper:")]
    assert finding["rule_id"] == "gatekeeper:K8sRequiredLabelsX/need-owner"
    assert finding["message"] == 'you must provide labels: {"owner"}'
    assert finding["location"]["path"] == "manifests/pod.yaml"
    assert finding["location"]["json_path"] == "metadata.labels"
    assert finding["location"]["start_line"] == 6  # the `labels:` line of the pod


def test_a_warn_constraint_does_not_fail_and_a_waiver_applies(tmp_path: Path) -> None:
    root = repo(tmp_path, template("K8sRequiredLabelsX", LABELS_REGO),
                constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]}, action="warn"))
    code, data, _ = check(root)
    assert code == 0
    assert [f["outcome"] for f in findings(data) if f["rule_id"].startswith("gatekeeper:")] == ["warn"]
    root = repo(tmp_path, template("K8sRequiredLabelsX", LABELS_REGO),
                constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]}),
                gate_extra=f"""
        waivers:
          - rule: "gatekeeper:K8sRequiredLabelsX/*"
            resource: {{kind: Pod}}
            reason: owners come from the catalogue
            owner: team@example.com
            expires: "{(dt.date.today() + dt.timedelta(days=30)).isoformat()}"
""")
    code, data, stderr = check(root)
    assert code == 0, stderr


@pytest.mark.parametrize(
    ("docs", "line", "says"),
    [
        (
            [template("K8sBroken", 'package k8sbroken\n\nviolation[{"msg": msg}] {\n  msg := \n}\n'), constraint("K8sBroken", "b")],
            None,
            "does not compile",
        ),
        ([constraint("K8sMissing", "nothing-defines-me")], 2, "no ConstraintTemplate defines the kind 'K8sMissing'"),
        (
            [template("K8sRequiredLabelsX", LABELS_REGO, schema=SCHEMA),
             constraint("K8sRequiredLabelsX", "bad", parameters={"labels": "owner"})],
            None,
            "parameters.labels: 'owner' is not of type 'array'",
        ),
        ([template("K8sRequiredLabelsX", LABELS_REGO)], None, "no constraints"),
    ],
    ids=["rego-does-not-compile", "constraint-without-template", "parameters-fail-schema", "templates-only"],
)
def test_bad_policies_exit_2_with_file_line_and_what_to_do(tmp_path: Path, docs: list[dict], line: int | None, says: str) -> None:
    root = repo(tmp_path, *docs)
    code, _, stderr = check(root)
    assert code == 2
    assert says in stderr
    if says != "no constraints":
        assert "policies/gatekeeper.yaml:" in stderr
        assert "(" in stderr and ")" in stderr  # a hint
    if line is not None:
        assert f"policies/gatekeeper.yaml:{line}" in stderr


BROKEN_TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sbroken
spec:
  crd:
    spec:
      names:
        kind: K8sBroken
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sbroken

        violation[{"msg": msg}] {
          msg := concat(",", ["a", "b"]
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sBroken
metadata:
  name: b
"""


def test_compile_error_points_at_the_template_line(tmp_path: Path) -> None:
    root = repo(tmp_path)
    (root / "policies" / "gatekeeper.yaml").write_text(BROKEN_TEMPLATE)
    code, _, stderr = check(root)
    assert code == 2
    line = int(stderr.split("policies/gatekeeper.yaml:")[1].split(":")[0])
    assert line in (15, 16, 17), stderr  # inside the rule with the unclosed call, not the top of the file
    assert "k8sbroken" in stderr and "does not compile" in stderr


def test_constraints_that_all_act_elsewhere_check_nothing_and_exit_2(tmp_path: Path) -> None:
    audit_only = constraint("K8sRequiredLabelsX", "audit-only", parameters={"labels": ["owner"]}, action="scoped")
    audit_only["spec"]["scopedEnforcementActions"] = [
        {"action": "deny", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}
    ]
    root = repo(tmp_path, template("K8sRequiredLabelsX", LABELS_REGO, schema=SCHEMA), audit_only)
    code, _, stderr = check(root)
    assert code == 2
    assert "none acts at admission" in stderr


def test_a_policy_path_without_templates_or_constraints_exits_2_naming_it(tmp_path: Path) -> None:
    root = repo(tmp_path, template("K8sRequiredLabelsX", LABELS_REGO, schema=SCHEMA),
                constraint("K8sRequiredLabelsX", "need-owner", parameters={"labels": ["owner"]}))
    write(root / "not-policies" / "pod.yaml", pod("other"))
    gate = (root / "gate.yaml").read_text().replace("policies: [policies]", "policies: [policies, not-policies]")
    (root / "gate.yaml").write_text(gate)
    code, _, stderr = check(root)
    assert code == 2
    assert "not-policies" in stderr and "no ConstraintTemplate or constraint" in stderr
