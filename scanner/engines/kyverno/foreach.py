"""`foreach`: the list a rule iterates and the variables each element gets.

The list is a JMESPath expression (optionally wrapped in `{{ }}`); a list
that does not evaluate to an array is passed over, as in Kyverno. Each
element is bound to `element`/`elementIndex` and, for nesting level N, to
`elementN`/`elementIndexN`. A map element is the pattern's target unless
`elementScope: false`; `elementScope: true` on a non-map is an error.
"""

from __future__ import annotations

from typing import Any

from scanner.engines.kyverno.budget import Budget, EvaluationLimit
from scanner.engines.kyverno.variables import VariableError, query

MAX_FOREACH_ELEMENTS = 10_000


class ElementScopeError(Exception):
    """`elementScope: true` on an element that is not a map."""


def list_elements(expression: str, data: Any, budget: Budget | None) -> list[Any] | None:
    """The elements to iterate, or None when the list does not evaluate to an array."""
    expr = str(expression or "").strip()
    if expr.startswith("{{") and expr.endswith("}}"):
        expr = expr[2:-2].strip()
    try:
        elements = query(expr, data, budget)
    except VariableError:
        return None
    if not isinstance(elements, list):
        return None
    if len(elements) > MAX_FOREACH_ELEMENTS:
        raise EvaluationLimit(f"foreach list has more than {MAX_FOREACH_ELEMENTS} elements")
    return elements


def bind_element(data: dict[str, Any], value: Any, index: int, nesting: int) -> dict[str, Any]:
    """A child context with the element variables set (the parent is untouched)."""
    child = dict(data)
    child["element"] = value
    child["elementIndex"] = index
    child[f"element{nesting}"] = value
    child[f"elementIndex{nesting}"] = index
    return child


def is_scoped(value: Any, element_scope: Any) -> bool:
    """Whether patterns apply to the element (True) or to the whole resource."""
    if element_scope is None:
        return isinstance(value, dict)
    if element_scope and not isinstance(value, dict):
        raise ElementScopeError(
            "cannot use elementScope=true foreach rules for elements that are not maps, "
            f"expected type=map got type={type(value).__name__}"
        )
    return bool(element_scope)
