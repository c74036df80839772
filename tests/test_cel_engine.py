"""The CEL core: Kubernetes semantics, libraries, errors that name the expression, the cost budget."""

from __future__ import annotations

import pytest

from scanner.engines.cel.checks import ERROR, FAIL, PASS, SKIP, compile_checks, run_checks
from scanner.engines.cel.program import (
    CelBudgetError, CelCompileError, CelEvaluationError, activation, compile_expression, largest_collection,
)
from scanner.errors import PolicyError

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "a", "image": "nginx:1.25", "securityContext": {"privileged": True}},
                               {"name": "b", "image": "busybox"}]}}


def _eval(expression: str, data: dict | None = None) -> object:
    data = data if data is not None else {"object": POD}
    return compile_expression(expression).evaluate(activation(data), largest_collection(data))


@pytest.mark.parametrize(("expression", "expected"), [
    ("object.spec.containers.all(c, c.?securityContext.?privileged.orValue(false) == false)", False),
    ("object.spec.containers.exists(c, c.name == 'b')", True),
    ("object.spec.containers.map(c, c.name)", ["a", "b"]),
    ("object.spec.containers.filter(c, has(c.securityContext)).size()", 1),
    ("object.metadata.?annotations[?'x'].orValue('none')", "none"),
    ("'a,b'.split(',')", ["a", "b"]),
    ("'ABC'.lowerAscii()", "abc"),
    ("object.spec.containers[0].image.matches('^nginx:[0-9.]+$')", True),
    ("'%s has %d'.format(['x', 2])", "x has 2"),
    ("sets.contains([1, 2, 3], [1, 2])", True),
    ("[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6", True),
    ("quantity('1Gi').isGreaterThan(quantity('500Mi'))", True),
    ("url('https://example.com:8443/x').getPort()", "8443"),
    ("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", True),
    ("semver('1.2.3').isLessThan(semver('1.10.0'))", True),
    ("'abc123'.find('[0-9]+')", "123"),
])
def test_kubernetes_cel_semantics(expression: str, expected: object) -> None:
    assert _eval(expression) == expected


@pytest.mark.parametrize(("expression", "problem"), [
    ("object.spec.(", "Syntax error"),
    ("object.frobnicate()", "undeclared reference to 'frobnicate'"),
    ("1 + 'a'", "no matching overload"),
])
def test_compile_errors_name_expression_and_position(expression: str, problem: str) -> None:
    with pytest.raises(CelCompileError) as caught:
        compile_expression(expression)
    assert caught.value.line == 1 and caught.value.column is not None
    assert problem in str(caught.value) and expression in str(caught.value)


def test_runtime_error_is_an_error_not_a_value() -> None:
    with pytest.raises(CelEvaluationError, match="nothing"):
        _eval("object.spec.nothing == 1")


def test_cost_budget_stops_nested_comprehensions_over_large_lists() -> None:
    data = {"object": {"items": list(range(2000))}}
    expression = "object.items.all(a, object.items.all(b, object.items.all(c, a + b + c >= 0)))"
    with pytest.raises(CelBudgetError, match="exceeds the budget"):
        _eval(expression, data)
    assert _eval("object.items.all(a, a >= 0)", data) is True


def _checks(spec: dict) -> object:
    return compile_checks(spec, "policy 'p'")


def test_checks_follow_kubernetes_order() -> None:
    checks = _checks({
        "matchConditions": [{"name": "only-web", "expression": "object.metadata.labels.app == 'web'"}],
        "variables": [{"name": "privileged", "expression":
                       "object.spec.containers.filter(c, c.?securityContext.?privileged.orValue(false))"}],
        "validations": [{"expression": "size(variables.privileged) == 0",
                         "messageExpression": "'privileged: ' + variables.privileged.map(c, c.name).join(', ')"}],
    })
    failed = run_checks(checks, {"object": POD})
    assert failed.status == FAIL and failed.violations[0].message == "privileged: a"
    other = {**POD, "metadata": {"name": "q", "labels": {"app": "db"}}}
    assert run_checks(checks, {"object": other}).status == SKIP
    fine = {**POD, "spec": {"containers": [{"name": "b", "image": "busybox"}]}}
    assert run_checks(checks, {"object": fine}).status == PASS


def test_missing_params_is_an_error_naming_the_expression() -> None:
    checks = _checks({"validations": [{"expression": "object.spec.replicas <= params.max"}]})
    outcome = run_checks(checks, {"object": {"spec": {"replicas": 3}}, "params": None})
    assert outcome.status == ERROR and "params.max" in (outcome.error or "")


def test_bad_policy_expression_is_a_policy_error_with_field() -> None:
    with pytest.raises(PolicyError, match=r"validations\[0\].expression.*1:8"):
        _checks({"validations": [{"expression": "object.("}]})


def test_variables_may_hold_durations_and_timestamps() -> None:
    """Variables are bound inside CEL, so values Python cannot carry back (durations) still work."""
    checks = _checks({
        "variables": [{"name": "maxAge", "expression": "duration('24h')"},
                      {"name": "cutoff", "expression": "timestamp('2026-01-02T00:00:00Z') - variables.maxAge"}],
        "validations": [{"expression": "timestamp(object.metadata.created) >= variables.cutoff",
                         "messageExpression": "'built before ' + string(variables.cutoff)"}],
    })
    old = {"metadata": {"created": "2025-06-01T00:00:00Z"}}
    new = {"metadata": {"created": "2026-01-01T12:00:00Z"}}
    failed = run_checks(checks, {"object": old})
    assert failed.status == FAIL and failed.violations[0].message == "built before 2026-01-01T00:00:00Z"
    assert run_checks(checks, {"object": new}).status == PASS


def test_or_value_on_plain_value_behaves_like_cel_go() -> None:
    pod = {"spec": {"containers": [{"name": "a", "volumeMounts": [{"name": "v"}]}]}}
    assert _eval("object.spec.containers[0].volumeMounts.orValue([]).size()", {"object": pod}) == 1
    assert _eval("object.spec.containers[0].?env.orValue([]).size()", {"object": pod}) == 0


def test_variables_read_by_index_still_work() -> None:
    checks = _checks({
        "variables": [{"name": "names", "expression": "object.spec.containers.map(c, c.name)"}],
        "validations": [{"expression": "variables['names'].size() == 1"}],
    })
    assert run_checks(checks, {"object": POD}).status == FAIL


def test_authorizer_loads_and_fails_offline_with_a_clear_error() -> None:
    checks = _checks({"validations": [{"expression":
        "authorizer.group('apps').resource('deployments').namespace('x').check('create').allowed()"}]})
    outcome = run_checks(checks, {"object": POD})
    assert outcome.status == ERROR and "authorizer" in (outcome.error or "") and "offline" in (outcome.error or "")


def test_validating_policy_error_under_failure_policy_ignore_is_a_gate_error() -> None:
    from scanner.engines.base import Level
    from scanner.engines.cel.engine import CelEngine
    from scanner.engines.kyverno.validating_policy import CelRequest, build_validating_policy, check_validating_policy
    from scanner.inputs.yamlpos import load_yaml_documents

    doc = {"apiVersion": "policies.kyverno.io/v1alpha1", "kind": "ValidatingPolicy", "metadata": {"name": "lenient"},
           "spec": {"failurePolicy": "Ignore",
                    "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                            "operations": ["CREATE"], "resources": ["pods"]}]},
                    "validations": [{"expression": "object.spec.noSuchField > 1"}]}}
    policy = build_validating_policy(doc, "vpol.yaml")
    outcome = check_validating_policy(policy, CelRequest(POD))
    assert outcome is not None and outcome.status == SKIP and outcome.error_ignored  # what `kyverno test` scores
    document = load_yaml_documents("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "pod.yaml")[0]
    raw = CelEngine._validating_results(policy, outcome, document)
    assert [r.level for r in raw] == [Level.ERROR]
    assert "lenient" in raw[0].message and "noSuchField" in raw[0].message


def test_catastrophic_find_pattern_is_an_error_not_a_hang() -> None:
    checks = compile_checks({"validations": [{"expression": "object.metadata.name.find('(a|aa)+$') == ''"}]}, "policy", path="p.yaml")
    outcome = run_checks(checks, {"object": {"metadata": {"name": "a" * 40 + "!"}}})
    assert outcome.status == ERROR
    assert "ran longer than" in (outcome.error or "")
