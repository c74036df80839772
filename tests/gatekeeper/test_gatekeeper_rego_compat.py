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
