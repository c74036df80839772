"""Preconditions and deny conditions: `any`/`all` blocks or a plain list.

A block holds when every `all` condition and at least one `any` condition
(if there are any) hold. Keys and values are substituted first; in
preconditions unresolved variables become `""` (Kyverno's rule), in deny
conditions they are errors.
"""

from __future__ import annotations

from typing import Any

from scanner.engines.kyverno.budget import Budget
from scanner.engines.kyverno.operators import OPERATORS
from scanner.engines.kyverno.variables import substitute


class ConditionError(Exception):
    """A condition could not be evaluated."""


def evaluate_block(block: Any, data: Any, *, lenient: bool, budget: Budget | None = None) -> bool:
    """True when the conditions hold (an empty block holds)."""
    if block is None:
        return True
    if isinstance(block, list):
        return all(_one(c, data, lenient, budget) for c in block)
    if isinstance(block, dict):
        any_list = block.get("any") or []
        all_list = block.get("all") or []
        if not all(_one(c, data, lenient, budget) for c in all_list):
            return False
        if any_list and not any(_one(c, data, lenient, budget) for c in any_list):
            return False
        return True
    raise ConditionError(f"conditions must be a list or an any/all block, got {type(block).__name__}")


def _one(condition: Any, data: Any, lenient: bool, budget: Budget | None) -> bool:
    if not isinstance(condition, dict):
        raise ConditionError("a condition must be a map with key, operator and value")
    operator = condition.get("operator")
    handler = OPERATORS.get(operator) if isinstance(operator, str) else None
    if handler is None:
        raise ConditionError(f"unknown operator {operator!r}")
    key = substitute(condition.get("key"), data, lenient=lenient, budget=budget)
    value = substitute(condition.get("value"), data, lenient=lenient, budget=budget)
    if budget is not None:
        budget.charge()
    return handler(key, value)


def condition_list(block: Any) -> list[dict[str, Any]]:
    """Every condition in a block (for load-time validation)."""
    if isinstance(block, list):
        return [c for c in block if isinstance(c, dict)]
    if isinstance(block, dict):
        return [c for c in (block.get("any") or []) + (block.get("all") or []) if isinstance(c, dict)]
    return []
