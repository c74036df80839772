"""The "cel" engine in the manifest gate: `cdgate check` with a `cel:` section in gate.yaml."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from conftest import run_cdgate

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
        - name: web
          image: registry.example.internal/web@sha256:{digest}
"""

POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
  annotations:
    policies.kyverno.io/severity: medium
spec:
  paramKind: {{apiVersion: v1, kind: ConfigMap}}
  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments"]
  validations:
    - expression: "{expression}"
      messageExpression: "'replicas ' + string(object.spec.replicas) + ' over ' + params.data.max"
      fieldPath: spec.replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: max-replicas
spec:
  policyName: max-replicas
  validationActions: [{action}]
  paramRef:
    name: limits
    namespace: shop
    parameterNotFoundAction: Deny
"""

PARAMS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: limits
  namespace: shop
data:
  max: "3"
"""


def _repo(tmp_path: Path, replicas: int = 5, action: str = "Deny", params: str | None = PARAMS,
          expression: str = "object.spec.replicas <= int(params.data.max)") -> Path:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "web.yaml").write_text(DEPLOYMENT.format(replicas=replicas, digest="a" * 64))
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "replicas.yaml").write_text(POLICY.format(expression=expression, action=action))
    lines = ["version: 1", "fail_on: medium", "rego:", "  bundled: false", "cel:", "  policies: [policies]"]
    if params is not None:
        (tmp_path / "params.yaml").write_text(params)
        lines.append("  params: [params.yaml]")
    (tmp_path / "gate.yaml").write_text("\n".join(lines) + "\n")
    return tmp_path


def _check(root: Path) -> tuple[int, list[dict], str]:
    out = root / "report.json"
    proc = run_cdgate("check", "apps", "--profile", "gate.yaml", "-f", "json", "-o", str(out), cwd=root)
    assert "Traceback" not in proc.stderr, proc.stderr
    findings = json.loads(out.read_text())["findings"] if out.is_file() else []
    return proc.returncode, findings, proc.stderr


def test_violation_fails_with_vap_rule_id_severity_and_field_line(tmp_path: Path) -> None:
    code, findings, _ = _check(_repo(tmp_path))
    cel = [f for f in findings if f["engine"] == "cel"]
    assert code == 1 and len(cel) == 1
    finding = cel[0]
    assert finding["rule_id"] == "vap:max-replicas/0"
    assert finding["severity"] == "medium" and finding["outcome"] == "fail"
    assert finding["message"] == "replicas 5 over 3"
    assert finding["location"]["start_line"] == 7  # `replicas: 5`


def test_compliant_object_passes(tmp_path: Path) -> None:
    code, findings, stderr = _check(_repo(tmp_path, replicas=2))
    assert code == 0, stderr
    assert not [f for f in findings if f["engine"] == "cel"]


def test_warn_action_is_advisory(tmp_path: Path) -> None:
    code, findings, _ = _check(_repo(tmp_path, action="Warn"))
    cel = [f for f in findings if f["engine"] == "cel"]
    assert code == 0 and [f["outcome"] for f in cel] == ["warn"]


def test_missing_params_is_exit_2_naming_the_policy(tmp_path: Path) -> None:
    code, findings, _ = _check(_repo(tmp_path, params=None))
    errors = [f for f in findings if f["outcome"] == "error"]
    assert code == 2 and errors
    assert "max-replicas" in errors[0]["message"] and "limits" in errors[0]["message"]


def test_syntax_error_is_exit_2_with_file_expression_and_position(tmp_path: Path) -> None:
    code, _findings, stderr = _check(_repo(tmp_path, expression="object.spec.replicas <= "))
    assert code == 2
    assert "replicas.yaml" in stderr and "max-replicas" in stderr
    assert "validations[0].expression" in stderr and "1:25" in stderr


def test_unknown_function_is_exit_2(tmp_path: Path) -> None:
    code, _findings, stderr = _check(_repo(tmp_path, expression="object.spec.replicas.frob()"))
    assert code == 2 and "undeclared reference to 'frob'" in stderr


def test_cost_overrun_is_an_error_finding_not_a_pass(tmp_path: Path) -> None:
    big = "[" + ",".join(str(i) for i in range(400)) + "]"
    expression = (f"{big}.all(a, {big}.all(b, {big}.all(c, a + b + c >= 0)))")
    code, findings, _ = _check(_repo(tmp_path, expression=expression))
    errors = [f for f in findings if f["outcome"] == "error"]
    assert code == 2 and any("exceeds the budget" in f["message"] for f in errors)


def test_waiver_suppresses_a_vap_finding(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    profile = root / "gate.yaml"
    profile.write_text(profile.read_text() + (
        "waivers:\n"
        "  - rule: vap:max-replicas/*\n"
        "    resource: {kind: Deployment, namespace: shop, name: web}\n"
        "    reason: Load test until the autoscaler lands.\n"
        "    owner: shop-team@example.com\n"
        f"    expires: '{dt.date.today() + dt.timedelta(days=30)}'\n"))
    code, findings, stderr = _check(root)
    cel = [f for f in findings if f["engine"] == "cel"]
    assert code == 0, stderr
    assert len(cel) == 1 and cel[0]["waiver"] is not None


KYVERNO_CEL = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: max-replicas-cel
  annotations: {policies.kyverno.io/severity: high}
spec:
  validationFailureAction: Enforce
  rules:
    - name: replicas
      match:
        any:
          - resources: {kinds: [Deployment]}
      validate:
        cel:
          paramKind: {apiVersion: v1, kind: ConfigMap}
          paramRef: {name: limits, namespace: shop}
          expressions:
            - expression: "object.spec.replicas <= int(params.data.max)"
              message: too many replicas
"""


def test_kyverno_validate_cel_reads_params_from_the_profile(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "kyverno").mkdir()
    (root / "kyverno" / "policy.yaml").write_text(KYVERNO_CEL)
    (root / "policies" / "replicas.yaml").unlink()
    (root / "gate.yaml").write_text("version: 1\nrego: {bundled: false}\nkyverno: {policies: [kyverno]}\n"
                                    "cel: {params: [params.yaml]}\n")
    code, findings, stderr = _check(root)
    kyverno = [f for f in findings if f["engine"] == "kyverno"]
    assert code == 1, stderr
    assert [(f["rule_id"], f["message"]) for f in kyverno] == [("kyverno:max-replicas-cel/replicas", "too many replicas")]


VPOL_HTTP = """\
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: external-allow-list}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}
  validations:
    - expression: "object.metadata.name in http.Get('https://allow.example/list').body.names"
      message: not on the allow list
"""


def test_validating_policy_http_reads_mocked_responses_from_cel_data(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "policies" / "replicas.yaml").write_text(VPOL_HTTP)
    (root / "responses.yaml").write_text(
        "apiCallResponses:\n- method: GET\n  url: https://allow.example/list\n"
        "  response: {statusCode: 200, body: {names: [api]}}\n")
    (root / "gate.yaml").write_text("version: 1\nrego: {bundled: false}\ncel: {policies: [policies], data: [responses.yaml]}\n")
    code, findings, stderr = _check(root)
    cel = [f for f in findings if f["engine"] == "cel"]
    assert code == 1, stderr
    assert [(f["rule_id"], f["message"]) for f in cel] == [("cel:external-allow-list/0", "not on the allow list")]
    (root / "gate.yaml").write_text("version: 1\nrego: {bundled: false}\ncel: {policies: [policies]}\n")
    code, findings, _ = _check(root)
    assert code == 2 and any("no response for GET" in f["message"] for f in findings if f["outcome"] == "error")


def test_cel_policies_without_any_cel_policy_is_exit_2(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "policies" / "replicas.yaml").write_text(PARAMS)  # a ConfigMap, not a CEL policy
    code, findings, stderr = _check(root)
    assert code == 2, stderr
    assert "cel.policies" in stderr and "no ValidatingAdmissionPolicy" in stderr
    assert not [f for f in findings if f.get("outcome") == "pass"]


IGNORING_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ignores-errors
spec:
  failurePolicy: Ignore
  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE"]
        resources: ["deployments"]
  validations:
    - expression: "object.spec.noSuchField > 1"
"""


def test_failure_policy_ignore_error_is_still_exit_2(tmp_path: Path) -> None:
    root = _repo(tmp_path, params=None)
    (root / "policies" / "replicas.yaml").write_text(IGNORING_POLICY)
    code, findings, stderr = _check(root)
    errors = [f for f in findings if f["engine"] == "cel" and f["outcome"] == "error"]
    assert code == 2, stderr
    assert len(errors) == 1 and "ignores-errors" in errors[0]["message"]
    assert "failurePolicy Ignore" in errors[0]["message"] and "noSuchField" in errors[0]["message"]
