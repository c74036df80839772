"""OPA builtins that Gatekeeper templates call and regorus does not have.

Gatekeeper evaluates v0 templates with OPA, which still offers the builtins
deprecated in v0 (`re_match`, `any`, `all`, `set_diff`, the `cast_*` family,
`net.cidr_overlap`) and `crypto.sha256`, which regorus lacks too. Library
templates use `re_match` widely. Each is registered as a regorus
extension, only in the engines of templates whose Rego calls it, with OPA's
meaning; a wrong argument type raises, which the engine reports as an error
result, as OPA reports a type error.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any, Callable

Builtin = tuple[int, Callable[..., Any]]


def _re_match(pattern: Any, value: Any) -> bool:
    if not isinstance(pattern, str) or not isinstance(value, str):
        raise TypeError("re_match: operands must be strings")
    return re.search(pattern, value) is not None


def _booleans(collection: Any, name: str) -> list[Any]:
    if not isinstance(collection, (list, set, frozenset, tuple)):
        raise TypeError(f"{name}: operand must be an array or a set")
    return list(collection)


def _set_diff(a: Any, b: Any) -> set[Any]:
    if not isinstance(a, (set, frozenset)) or not isinstance(b, (set, frozenset)):
        raise TypeError("set_diff: operands must be sets")
    return set(a) - set(b)


def _typed(name: str, kinds: tuple[type, ...]) -> Callable[[Any], Any]:
    def cast(value: Any) -> Any:
        if not isinstance(value, kinds):
            raise TypeError(f"{name}: operand has the wrong type")
        return value

    return cast


def _cast_array(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError("cast_array: operand must be an array or a set")
    return list(value)


def _cast_set(value: Any) -> set[Any]:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError("cast_set: operand must be an array or a set")
    return set(value)


def _cast_null(value: Any) -> None:
    if value is not None:
        raise TypeError("cast_null: operand must be null")
    return None


def _cidr_overlap(cidr: Any, address: Any) -> bool:
    network = ipaddress.ip_network(str(cidr), strict=False)
    other = ipaddress.ip_network(str(address), strict=False)
    return other.version == network.version and other.subnet_of(network)  # type: ignore[arg-type]


def _sha256(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("crypto.sha256: operand must be a string")
    return hashlib.sha256(value.encode()).hexdigest()


BUILTINS: dict[str, Builtin] = {
    "re_match": (2, _re_match),
    "any": (1, lambda c: any(v is True for v in _booleans(c, "any"))),
    "all": (1, lambda c: all(v is True for v in _booleans(c, "all"))),
    "set_diff": (2, _set_diff),
    "cast_array": (1, _cast_array),
    "cast_set": (1, _cast_set),
    "cast_string": (1, _typed("cast_string", (str,))),
    "cast_boolean": (1, _typed("cast_boolean", (bool,))),
    "cast_null": (1, _cast_null),
    "cast_object": (1, _typed("cast_object", (dict,))),
    "net.cidr_overlap": (2, _cidr_overlap),
    "crypto.sha256": (1, _sha256),
}


def builtins_called(texts: list[str]) -> dict[str, Builtin]:
    """The builtins above that any of `texts` calls (`name(`), so only those are registered."""
    joined = "\n".join(texts)
    return {
        name: builtin
        for name, builtin in BUILTINS.items()
        if re.search(rf"(?<![\w.]){re.escape(name)}\s*\(", joined)
    }
