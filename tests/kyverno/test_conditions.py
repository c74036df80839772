"""Condition operators and `{{ }}` variables, as Kyverno evaluates them."""

from __future__ import annotations

import pytest

from scanner.engines.kyverno.conditions import evaluate_block
from scanner.engines.kyverno.operators import OPERATORS
from scanner.engines.kyverno.variables import VariableError, query, substitute


@pytest.mark.parametrize(
    ("op", "key", "value", "expected"),
    [
        ("Equals", "abc", "a*", True),
        ("Equals", "1Gi", "1024Mi", True),
        ("Equals", "1h", "60m", True),
        ("Equals", 3, "3", True),
        ("NotEquals", "a", "b", True),
        ("In", "b", ["a", "b"], True),
        ("In", ["a", "b"], ["a", "b", "c"], True),
        ("In", ["a", "z"], ["a", "b"], False),
        ("NotIn", "z", ["a", "b"], True),
        ("AnyIn", ["x", "b"], ["a", "b"], True),
        ("AnyIn", "prod-1", ["prod-*"], True),
        ("AllIn", ["a", "b"], ["a", "b", "c"], True),
        ("AllIn", ["a", "z"], ["a", "b"], False),
        ("AnyNotIn", ["a", "z"], ["a", "b"], True),
        ("AnyNotIn", ["a"], ["a", "b"], False),
        ("AllNotIn", ["x", "y"], ["a", "b"], True),
        ("AllNotIn", ["x", "a"], ["a", "b"], False),
        ("AnyIn", [5], "1-10", True),
        ("GreaterThan", 5, 3, True),
        ("GreaterThan", "2Gi", "1Gi", True),
        ("GreaterThanOrEquals", "1.25.0", "1.24.3", True),
        ("LessThan", "500m", "1", True),
        ("LessThanOrEquals", 3, "3", True),
        ("DurationGreaterThan", "2h", "90m", True),
        ("DurationLessThan", "30s", 60, True),
        ("DurationLessThanOrEquals", "2h", "1h", False),
    ],
)
def test_operators(op: str, key: object, value: object, expected: bool) -> None:
    assert OPERATORS[op](key, value) is expected


def test_any_all_blocks() -> None:
    data = {"request": {"operation": "UPDATE"}}
    block = {
        "all": [{"key": "{{ request.operation }}", "operator": "AnyIn", "value": ["CREATE", "UPDATE"]}],
        "any": [
            {"key": "{{ request.operation }}", "operator": "Equals", "value": "DELETE"},
            {"key": "{{ request.operation }}", "operator": "Equals", "value": "UPDATE"},
        ],
    }
    assert evaluate_block(block, data, lenient=False) is True
    block["any"].pop()
    assert evaluate_block(block, data, lenient=False) is False


def test_whole_string_variable_keeps_its_type() -> None:
    data = {"request": {"object": {"spec": {"replicas": 3, "ports": [80, 443]}}}}
    assert substitute("{{ request.object.spec.replicas }}", data) == 3
    assert substitute("{{ request.object.spec.ports }}", data) == [80, 443]
    assert substitute("n={{ request.object.spec.replicas }}", data) == "n=3"
    assert substitute("{{request.object.spec.ports}}!", data) == "[80,443]!"


def test_nested_variables_resolve_inside_out() -> None:
    data = {"name": "b", "maps": {"b": "found"}}
    assert substitute("{{ maps.{{name}} }}", data) == "found"


def test_missing_field_is_null_but_bad_jmespath_is_an_error() -> None:
    assert query("request.object.nope.deeper", {"request": {"object": {}}}) is None
    with pytest.raises(VariableError):
        query("request.object.[", {})
    with pytest.raises(VariableError):
        substitute("{{ length(request.object.nope) }}", {"request": {"object": {}}})


def test_preconditions_turn_unresolvable_variables_into_empty_strings() -> None:
    block = [{"key": "{{ length(request.object.nope) }}", "operator": "Equals", "value": ""}]
    assert evaluate_block(block, {"request": {"object": {}}}, lenient=True) is True


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("to_upper('abc')", "ABC"),
        ("split('a,b', ',')", ["a", "b"]),
        ("regex_match('^v[0-9]+$', 'v12')", True),
        ("pattern_match('ngin?', 'nginx')", True),
        ("regex_replace_all('([a-z]+)-([0-9]+)', 'app-12', '$2-$1')", "12-app"),
        ("base64_decode('aGVsbG8=')", "hello"),
        ("path_canonicalize('/a/b/../c//d')", "/a/c/d"),
        ("add('1Gi', '512Mi')", "1610612736"),
        ("divide(`10`, `4`)", 2.5),
        ("parse_json('{\"a\": 1}').a", 1),
        ("parse_yaml('a: [1, 2]').a[1]", 2),
        ("items(`{\"b\": 1, \"a\": 2}`, 'k', 'v')[0].k", "a"),
        ("semver_compare('1.2.3', '>=1.2.0')", True),
        ("truncate('abcdef', `3`)", "abc"),
        ("lookup(`{\"a\": 1}`, 'a')", 1),
    ],
)
def test_custom_functions(expr: str, expected: object) -> None:
    assert query(expr, {}) == expected
