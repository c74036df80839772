"""The Rego v0 forms OPA reads one way and regorus another, rewritten so regorus gives OPA's answer.

Each case is a v0 policy and the value OPA gives for it (OPA's semantics as
documented: several bodies are several rules; a call needs `(` right after
the name; references in a negated call's arguments are evaluated outside
the negation; sprintf's missing arguments print `%!v(MISSING)`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.engines.gatekeeper.rego_compat import regorus_compatible


def evaluate(text: str, query: str, input_value: Any) -> Any:
    import regorus

    engine = regorus.Engine()
    engine.set_rego_v0(True)
    engine.add_policy("p.rego", text)
    engine.set_input(input_value)
    return json.loads(engine.eval_rule_as_json(query))


MULTI_BODY = """\
package p

kind_of(obj) = k {
  obj.a
  k := "a"
} {
  obj.b
  k := "b"
}

r := [kind_of({"a": true}), kind_of({"b": true})]
"""

PAREN_LINE = """\
package p

ok {
  input.min
  (input.max - input.low) >= input.min
}
"""

NEGATED_CALL = """\
package p

accept(_, ranges) {
  count(ranges) > 0
}

violation[msg] {
  params := input.params
  not accept(1, params.ranges)
  msg := "rejected"
}
"""

SHORT_SPRINTF = """\
package p

r := sprintf("%v and %v, then %d", ["one"])
"""


@pytest.mark.parametrize(
    ("text", "query", "input_value", "opa_says"),
    [
        (MULTI_BODY, "data.p.r", {}, ["a", "b"]),
        (PAREN_LINE, "data.p.ok", {"min": 2, "max": 5, "low": 1}, True),
        (NEGATED_CALL, "data.p.violation", {"params": {}}, []),  # params.ranges missing: the body fails in OPA
        (NEGATED_CALL, "data.p.violation", {"params": {"ranges": []}}, ["rejected"]),
        (SHORT_SPRINTF, "data.p.r", {}, "one and %!v(MISSING), then %!d(MISSING)"),
    ],
    ids=["several-bodies", "line-starting-with-paren", "negated-call-missing-ref", "negated-call-present-ref", "sprintf-missing"],
)
def test_rewritten_policy_gives_opas_answer(text: str, query: str, input_value: Any, opa_says: Any) -> None:
    rewritten = regorus_compatible(text)
    assert rewritten.count("\n") == text.count("\n"), "lines must stay where they were"
    assert evaluate(rewritten, query, input_value) == opa_says


def test_policies_without_those_forms_are_left_alone() -> None:
    text = 'package p\n\nviolation[{"msg": msg}] {\n  not input.x\n  c := input.y[_]\n  msg := sprintf("%v", [c])\n}\n'
    assert regorus_compatible(text) == text


DEPRECATED_BUILTINS = """\
package k8sbuiltins

violation[{"msg": msg}] {
  re_match("^(extensions|networking.k8s.io)$", input.review.kind.group)
  not re_match("^z", "abc")
  any([false, true])
  all([true, true])
  not all([true, false])
  count(set_diff({1, 2, 3}, {1})) == 2
  count(cast_set([1, 1, 2])) == 2
  cast_array({"a"}) == ["a"]
  cast_string("s") == "s"
  net.cidr_overlap("10.0.0.0/8", "10.1.2.3")
  not net.cidr_overlap("10.0.0.0/8", "192.168.0.1")
  msg := crypto.sha256("a")
}
"""


def test_opa_builtins_regorus_lacks_are_provided_with_opas_meaning(tmp_path) -> None:
    from gk_helpers import constraint, template, write
    from scanner.engines.gatekeeper.client import load_policies
    from scanner.engines.gatekeeper.review import object_review

    path = write(tmp_path / "p.yaml", template("K8sBuiltins", DEPRECATED_BUILTINS), constraint("K8sBuiltins", "b"))
    policies = load_policies([path], tmp_path)
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}}
    outcome = policies.review(object_review(ingress), {})
    assert not outcome.errors, outcome.errors
    assert [v.message for v in outcome.violations] == ["ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    assert policies.review(object_review(pod), {}).violations == []
