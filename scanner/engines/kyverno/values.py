"""Scalar pattern values: `"!*:latest"`, `">=1Gi"`, `"1-10"`, `"a | b & c"`.

One string in a Kyverno pattern can hold an expression: `|` (or) of `&`
(and) of comparisons, each with an optional operator (`>`, `>=`, `<`, `<=`,
`!`) or a range (`1-10`, `!1-10`). Values compare as durations, then as
Kubernetes quantities, then as wildcard strings, as Kyverno does.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from typing import Any

from scanner.engines.kyverno import wildcard
from scanner.engines.kyverno.quantities import parse_duration, parse_quantity

EQUAL, NOT_EQUAL, MORE, MORE_EQUAL, LESS, LESS_EQUAL, IN_RANGE, NOT_IN_RANGE = (
    "", "!", ">", ">=", "<", "<=", "-", "!-",
)
_NUM = r"[-+]?\d+(?:\.\d+)?[A-Za-z]*"
_IN_RANGE = re.compile(rf"^{_NUM}-{_NUM}$")
_NOT_IN_RANGE = re.compile(rf"^{_NUM}!-{_NUM}$")


@functools.lru_cache(maxsize=8192)
def string_operator(pattern: str) -> str:
    """The operator a pattern string starts with (Kyverno's precedence)."""
    if len(pattern) < 2:
        return EQUAL
    for op in (MORE_EQUAL, LESS_EQUAL, MORE, LESS):
        if pattern.startswith(op):
            return op
    if _NOT_IN_RANGE.match(pattern):
        return NOT_IN_RANGE
    if pattern.startswith("!"):
        return NOT_EQUAL
    if _IN_RANGE.match(pattern):
        return IN_RANGE
    return EQUAL


def validate(value: Any, pattern: Any) -> bool:
    """Does the resource `value` satisfy the scalar `pattern`?"""
    if isinstance(pattern, bool):
        return isinstance(value, bool) and value == pattern
    if isinstance(pattern, int):
        return _int_pattern(value, pattern)
    if isinstance(pattern, float):
        return _float_pattern(value, pattern)
    if pattern is None:
        return _nil_pattern(value)
    if isinstance(pattern, dict):
        return isinstance(value, dict)
    if isinstance(pattern, str):
        return _string_patterns(value, pattern)
    return False


def _int_pattern(value: Any, pattern: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == pattern
    if isinstance(value, float):
        return value == math.trunc(value) and int(value) == pattern
    if isinstance(value, str):
        try:
            return int(value, 10) == pattern
        except ValueError:
            return False
    return False


def _float_pattern(value: Any, pattern: float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return pattern == math.trunc(pattern) and int(pattern) == value
    if isinstance(value, float):
        return value == pattern
    if isinstance(value, str):
        try:
            return float(value) == pattern
        except ValueError:
            return False
    return False


def _nil_pattern(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, str):
        return value == ""
    return False


def _string_patterns(value: Any, pattern: str) -> bool:
    if isinstance(value, str) and value == pattern:
        return True
    for alternative in pattern.split("|"):
        alternative = alternative.strip(" ")
        if all(_string_pattern(value, part.strip(" ")) for part in alternative.split("&")):
            return True
    return False


def _string_pattern(value: Any, pattern: str) -> bool:
    op = string_operator(pattern)
    if op == IN_RANGE:
        low, high = pattern.split("-", 1)
        return _string_pattern(value, f">= {low}") and _string_pattern(value, f"<= {high}")
    if op == NOT_IN_RANGE:
        low, high = pattern.split("!-", 1)
        return _string_pattern(value, f"< {low}") or _string_pattern(value, f"> {high}")
    operand = pattern[len(op):].strip()
    return (
        _compare_duration(value, operand, op)
        or _compare_quantity(value, operand, op)
        or _compare_string(value, operand, op)
    )


def _cmp(left: Decimal, right: Decimal, op: str) -> bool:
    if op == EQUAL:
        return left == right
    if op == NOT_EQUAL:
        return left != right
    if op == MORE:
        return left > right
    if op == LESS:
        return left < right
    if op == MORE_EQUAL:
        return left >= right
    if op == LESS_EQUAL:
        return left <= right
    return False


def number_to_string(value: Any) -> str | None:
    if value is None:
        return "0"
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    return None


def _compare_duration(value: Any, operand: str, op: str) -> bool:
    expected = parse_duration(operand)
    if expected is None or operand in ("0",):
        return False
    text = value if isinstance(value, str) else None
    actual = parse_duration(text) if text is not None else None
    if actual is None:
        return False
    return _cmp(actual, expected, op)


def _compare_quantity(value: Any, operand: str, op: str) -> bool:
    expected = parse_quantity(operand)
    if expected is None:
        return False
    text = number_to_string(value)
    actual = parse_quantity(text) if text is not None else None
    if actual is None:
        return False
    return _cmp(actual, expected, op)


def go_format(value: Any) -> str | None:
    """A scalar as Go's pattern code prints it before a string compare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value == math.trunc(value) and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return value
    return None


def _compare_string(value: Any, operand: str, op: str) -> bool:
    if op not in (EQUAL, NOT_EQUAL):
        return False
    text = go_format(value)
    if text is None:
        return False
    matched = wildcard.match(operand, text)
    return not matched if op == NOT_EQUAL else matched
