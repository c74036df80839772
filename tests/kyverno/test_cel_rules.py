"""Kyverno `validate.cel` rules beyond the corpus: params, celPreconditions, errors, autogen."""

from __future__ import annotations

from pathlib import Path

from scanner.engines.kyverno.testfile import run_suite

POLICY = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: max-replicas
spec:
  validationFailureAction: Enforce
  rules:
    - name: replicas
      match:
        any:
          - resources: {kinds: [Deployment]}
      celPreconditions:
        - name: not-system
          expression: "object.metadata.namespace != 'kube-system'"
      validate:
        cel:
          paramKind: {apiVersion: v1, kind: ConfigMap}
          paramRef: {name: limits, namespace: default, parameterNotFoundAction: %(action)s}
          variables:
            - name: limit
              expression: "int(params.data.max)"
          expressions:
            - expression: "object.spec.replicas <= variables.limit"
              messageExpression: "'at most ' + string(variables.limit) + ' replicas'"
"""

RESOURCES = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: big, namespace: default}
spec: {replicas: 9}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: small, namespace: default}
spec: {replicas: 2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: system, namespace: kube-system}
spec: {replicas: 9}
"""

PARAMS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: limits, namespace: default}
data: {max: "3"}
"""


def _suite(tmp_path: Path, results: str, action: str = "Deny", with_params: bool = True) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY % {"action": action})
    (tmp_path / "resources.yaml").write_text(RESOURCES)
    (tmp_path / "params.yaml").write_text(PARAMS)
    test = ("apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\n"
            "resources: [resources.yaml]\n" + ("paramResources: [params.yaml]\n" if with_params else "") + results)
    (tmp_path / "kyverno-test.yaml").write_text(test)
    return tmp_path / "kyverno-test.yaml"


ROWS = """\
results:
- {policy: max-replicas, rule: replicas, kind: Deployment, resources: [big], result: %s}
- {policy: max-replicas, rule: replicas, kind: Deployment, resources: [small], result: %s}
- {policy: max-replicas, rule: replicas, kind: Deployment, resources: [system], result: %s}
"""


def test_params_preconditions_and_message(tmp_path: Path) -> None:
    outcome = run_suite(_suite(tmp_path, ROWS % ("fail", "pass", "skip")))
    assert outcome.error is None and outcome.passed, [(r.resource, r.actual, r.message) for r in outcome.rows]
    big = next(r for r in outcome.rows if r.resource == "big")
    assert big.message == "at most 3 replicas"


def test_missing_params_deny_fails_and_allow_passes(tmp_path: Path) -> None:
    """Params are resolved before matchConditions (celPreconditions), as the API server does."""
    denied = run_suite(_suite(tmp_path, ROWS % ("fail", "fail", "fail"), with_params=False))
    assert denied.passed, [(r.resource, r.actual, r.message) for r in denied.rows]
    assert "limits" in next(r for r in denied.rows if r.resource == "small").message
    allowed = run_suite(_suite(tmp_path, ROWS % ("pass", "pass", "pass"), action="Allow", with_params=False))
    assert allowed.passed, [(r.resource, r.actual, r.message) for r in allowed.rows]


def test_expression_error_is_fail_in_kyverno_test_and_error_in_the_gate(tmp_path: Path) -> None:
    from scanner.engines.base import Level
    from scanner.engines.kyverno import load_policies
    from scanner.inputs.yamlpos import load_yaml_documents

    policy = POLICY.replace("object.spec.replicas <= variables.limit", "object.spec.nothing <= variables.limit")
    (tmp_path / "policy.yaml").write_text(policy % {"action": "Deny"})
    (tmp_path / "resources.yaml").write_text(RESOURCES)
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "kyverno-test.yaml").write_text(
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\n"
        "resources: [resources.yaml]\nparamResources: [params.yaml]\n" + ROWS % ("fail", "fail", "skip"))
    assert run_suite(tmp_path / "kyverno-test.yaml").passed  # Kubernetes' validator denies on the error

    # The gate has no params for validate.cel: each selected Deployment is an error naming them.
    documents = load_yaml_documents(RESOURCES, "apps/deploy.yaml")
    raw = load_policies([tmp_path / "policy.yaml"]).evaluate(documents)
    assert len(raw) == 3 and all(r.level is Level.ERROR and "'limits'" in r.message for r in raw)
    # Without params, the expression error itself is the error (exit 2), not a violation.
    no_params = "\n".join(line for line in policy.splitlines() if "paramKind" not in line and "paramRef" not in line)
    (tmp_path / "policy.yaml").write_text(no_params.replace("int(params.data.max)", "3"))
    raw = load_policies([tmp_path / "policy.yaml"]).evaluate(documents)
    assert len(raw) == 2 and all(r.level is Level.ERROR and "nothing" in r.message for r in raw)
