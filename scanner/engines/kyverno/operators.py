"""Condition operators (`Equals`, `AnyIn`, `GreaterThan`, `DurationLessThan`...).

Each takes the substituted key and value and answers true/false with
Kyverno's typing rules: durations first, then quantities, numbers, semantic
versions, and wildcard strings; set operators accept lists, a single value,
a JSON array in a string, or a range such as `1-10`.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Callable

from scanner.engines.kyverno import semver, values, wildcard
from scanner.engines.kyverno.quantities import parse_duration, parse_quantity


def _go_sprint(value: Any) -> str:
    text = values.go_format(value)
    if text is not None:
        return text
    if value is None:
        return "<nil>"
    if isinstance(value, list):
        return "[" + " ".join(_go_sprint(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_sprint(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _durations(key: Any, value: Any) -> tuple[Decimal, Decimal] | None:
    """Kyverno's parseDuration: at least one side is a duration string."""
    kd = parse_duration(key) if isinstance(key, str) and key != "0" else None
    vd = parse_duration(value) if isinstance(value, str) and value != "0" else None
    if kd is None and vd is None:
        return None
    if kd is None:
        if not _is_number(key):
            return None
        kd = Decimal(int(key))
    if vd is None:
        if not _is_number(value):
            return None
        vd = Decimal(int(value))
    return kd, vd


# ---- Equals ------------------------------------------------------------------


def equals(key: Any, value: Any) -> bool:
    if isinstance(key, bool):
        return isinstance(value, bool) and key == value
    if isinstance(key, int):
        return _int_equals(key, value)
    if isinstance(key, float):
        return _float_equals(key, value)
    if isinstance(key, str):
        pair = _durations(key, value)
        if pair is not None:
            return pair[0] == pair[1]
        kq = parse_quantity(key)
        if kq is not None and isinstance(value, str):
            vq = parse_quantity(value)
            return vq is not None and kq == vq
        if isinstance(value, str):
            return wildcard.match(value, key)
        return False
    if isinstance(key, (dict, list)):
        return type(key) is type(value) and key == value
    return False


def _int_equals(key: int, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == key
    if isinstance(value, float):
        return value == math.trunc(value) and int(value) == key
    if isinstance(value, str):
        try:
            return int(value, 10) == key
        except ValueError:
            return False
    return False


def _float_equals(key: float, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return key == math.trunc(key) and int(key) == value
    if isinstance(value, float):
        return value == key
    if isinstance(value, str):
        try:
            return float(value) == key
        except ValueError:
            return False
    return False


# ---- numeric -----------------------------------------------------------------


def _compare(left: Any, right: Any, op: str) -> bool:
    return bool({
        "GreaterThan": left > right,
        "GreaterThanOrEquals": left >= right,
        "LessThan": left < right,
        "LessThanOrEquals": left <= right,
    }[op])


def _parse_number(text: str) -> Decimal | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return Decimal(text.strip()) if text.strip().lstrip("+-").replace(".", "", 1).isdigit() else Decimal(str(number))


def _numeric_number_key(key: Decimal, value: Any, op: str) -> bool:
    if _is_number(value):
        return _compare(key, Decimal(str(value)), op)
    if isinstance(value, str):
        pair = _durations(float(key) if key != key.to_integral_value() else int(key), value)
        if pair is not None:
            return _compare(pair[0], pair[1], op)
        number = _parse_number(value)
        if number is not None:
            return _compare(key, number, op)
    return False


def numeric(op: str) -> Callable[[Any, Any], bool]:
    def evaluate(key: Any, value: Any) -> bool:
        if isinstance(key, bool):
            return False
        if _is_number(key):
            return _numeric_number_key(Decimal(str(key)), value, op)
        if isinstance(key, str):
            pair = _durations(key, value)
            if pair is not None:
                return _compare(pair[0], pair[1], op)
            kq = parse_quantity(key)
            vq = parse_quantity(value) if isinstance(value, str) else None
            if kq is not None and vq is not None:
                return _compare(kq, vq, op)
            number = _parse_number(key)
            if number is not None:
                return _numeric_number_key(number, value, op)
            kv = semver.parse(key)
            if kv is not None and isinstance(value, str):
                vv = semver.parse(value)
                if vv is None:
                    return False
                return _compare(semver.compare(kv, vv), 0, op)
        return False

    return evaluate


def duration(op: str) -> Callable[[Any, Any], bool]:
    plain = op.replace("Duration", "")

    def seconds(x: Any) -> Decimal | None:
        if _is_number(x):
            return Decimal(int(x))
        if isinstance(x, str):
            return parse_duration(x)
        return None

    def evaluate(key: Any, value: Any) -> bool:
        if isinstance(key, bool) or isinstance(value, bool):
            return False
        if not (_is_number(key) or isinstance(key, str)):
            return False
        k = seconds(key)
        v = seconds(value)
        if k is None or v is None:
            return False
        return _compare(k, v, plain)

    return evaluate


# ---- set operators ------------------------------------------------------------


def _string_array(text: str) -> list[str] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
        return parsed
    return None


def _either_match(a: str, b: str) -> bool:
    return wildcard.match(a, b) or wildcard.match(b, a)


def _key_in(key: str, value: Any, strict_json: bool) -> bool | None:
    """Is the single `key` in `value`? None when the value has an invalid type."""
    if isinstance(value, list):
        return any(_either_match(_go_sprint(v), key) for v in value)
    if isinstance(value, str):
        if wildcard.match(value, key):
            return True
        if values.string_operator(value) == values.IN_RANGE:
            return values.validate(key, value)
        if strict_json:
            arr = _string_array(value)
            if arr is None:
                return None
        else:
            try:
                json.loads(value)
                arr = _string_array(value)
                if arr is None:
                    return None
            except ValueError:
                arr = [value]
        return key in arr
    return None


def _values_of(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [_go_sprint(v) for v in value]
    if _is_number(value):
        return [_go_sprint(value)]
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return [value]
        return _string_array(value)
    return None


def _range_members(keys: list[str], value: str) -> list[bool]:
    return [values.validate(k, value) for k in keys]


def _keys(key: Any) -> tuple[str, list[str]] | None:
    if isinstance(key, list):
        return "set", [_go_sprint(k) for k in key]
    if isinstance(key, str):
        return "one", [key]
    if _is_number(key) or isinstance(key, bool):
        return "one", [_go_sprint(key)]
    return None


def _found(keys: list[str], pool: list[str]) -> list[bool]:
    return [any(_either_match(k, p) for p in pool) for k in keys]


def _membership(key: Any, value: Any, *, strict_json: bool, quantifier: Any, negate: bool) -> bool:
    """The shared shape of AnyIn, AllIn, AnyNotIn and AllNotIn.

    A single key is looked up directly; a list of keys is matched against a
    range (`1-10`) or a pool of values, and `quantifier` (any/all) folds the
    per-key hits. The NotIn variants negate the fold, but an unreadable value
    (pool None, lookup error) is never a match either way.
    """
    parsed = _keys(key)
    if parsed is None:
        return False
    mode, keys = parsed
    if mode == "one":
        found = _key_in(keys[0], value, strict_json=strict_json)
        return found is False if negate else bool(found)
    if isinstance(value, str) and len(keys) == 1 and keys[0] == value:
        return not negate
    if isinstance(value, str) and values.string_operator(value) == values.IN_RANGE:
        hits = list(_range_members(keys, value))
    else:
        pool = _values_of(value)
        if pool is None:
            return False
        hits = _found(keys, pool)
    return not quantifier(hits) if negate else quantifier(hits)


def any_in(key: Any, value: Any) -> bool:
    return _membership(key, value, strict_json=False, quantifier=any, negate=False)


def all_in(key: Any, value: Any) -> bool:
    return _membership(key, value, strict_json=True, quantifier=all, negate=False)


def any_not_in(key: Any, value: Any) -> bool:
    """Some key is missing from value: not all keys are in it."""
    return _membership(key, value, strict_json=False, quantifier=all, negate=True)


def all_not_in(key: Any, value: Any) -> bool:
    """No key is in value."""
    return _membership(key, value, strict_json=True, quantifier=any, negate=True)


def in_(key: Any, value: Any) -> bool:
    """The deprecated `In`: every key is in value, which is AllIn."""
    return all_in(key, value)


def not_in(key: Any, value: Any) -> bool:
    parsed = _keys(key)
    if parsed is None:
        return False
    mode, keys = parsed
    if mode == "one":
        found = _key_in(keys[0], value, strict_json=True)
        return found is False
    return not all_in(key, value)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": equals,
    "Equal": equals,
    "NotEquals": lambda k, v: not equals(k, v),
    "NotEqual": lambda k, v: not equals(k, v),
    "In": in_,
    "NotIn": not_in,
    "AnyIn": any_in,
    "AllIn": all_in,
    "AnyNotIn": any_not_in,
    "AllNotIn": all_not_in,
    "GreaterThan": numeric("GreaterThan"),
    "GreaterThanOrEquals": numeric("GreaterThanOrEquals"),
    "LessThan": numeric("LessThan"),
    "LessThanOrEquals": numeric("LessThanOrEquals"),
    "DurationGreaterThan": duration("DurationGreaterThan"),
    "DurationGreaterThanOrEquals": duration("DurationGreaterThanOrEquals"),
    "DurationLessThan": duration("DurationLessThan"),
    "DurationLessThanOrEquals": duration("DurationLessThanOrEquals"),
}
