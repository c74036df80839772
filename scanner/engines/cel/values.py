"""Kubernetes CEL value types (quantity, url, ip, cidr, semver) as tagged maps.

cel-expr-python cannot return opaque Python objects to CEL, so each typed
value travels as a one-key map (`{"__cdgate_quantity__": "1Gi"}`) and the
library's member functions read the tag. Expressions never see the tag
unless they print the value.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from decimal import Decimal
from typing import Any


QUANTITY = "__cdgate_quantity__"
URL = "__cdgate_url__"
IP = "__cdgate_ip__"
CIDR = "__cdgate_cidr__"
SEMVER = "__cdgate_semver__"
TAGS = (QUANTITY, URL, IP, CIDR, SEMVER)

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")


class CelValueError(ValueError):
    """A library function got a value it cannot work with (becomes a CEL error)."""


def tagged(value: Any) -> tuple[str, str] | None:
    """(tag, text) for a library value, None for any other value."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in TAGS:
            return key, str(value[key])
    return None


def expect(value: Any, tag: str) -> str:
    found = tagged(value)
    if found is None or found[0] != tag:
        raise CelValueError(f"expected a {tag.strip('_').removeprefix('cdgate_')} value")
    return found[1]


# ---- quantity -------------------------------------------------------------------


def parse_quantity(text: str) -> Decimal | None:
    """Kubernetes quantity text as an exact Decimal (Kyverno's parser; imported late to avoid a cycle)."""
    from scanner.engines.kyverno.quantities import parse_quantity as parse

    return parse(text)


def make_quantity(text: str) -> dict[str, str]:
    if parse_quantity(text) is None:
        raise CelValueError(f"quantities must match the regular expression of a Kubernetes quantity: {text!r}")
    return {QUANTITY: text}


def quantity_value(value: Any) -> Decimal:
    parsed = parse_quantity(expect(value, QUANTITY))
    assert parsed is not None  # make_quantity checked it
    return parsed


def decimal_to_quantity(number: Decimal) -> dict[str, str]:
    text = format(number.normalize(), "f")
    return {QUANTITY: text}


# ---- url ------------------------------------------------------------------------


def make_url(text: str) -> dict[str, str]:
    parsed = urllib.parse.urlsplit(text)
    if not (parsed.scheme and (parsed.netloc or text.startswith("/"))) and not text.startswith("/"):
        raise CelValueError(f"URL parse error during conversion from string: {text!r}")
    return {URL: text}


def url_parts(value: Any) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(expect(value, URL))


# ---- ip / cidr --------------------------------------------------------------------


def make_ip(text: str) -> dict[str, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise CelValueError(f"IP Address {text!r} parse error during conversion from string") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise CelValueError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    if "%" in text:
        raise CelValueError(f"IP address with zone value {text!r} is not allowed")
    return {IP: text}


def ip_value(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(expect(value, IP))


def make_cidr(text: str) -> dict[str, str]:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise CelValueError(f"network address {text!r} parse error during conversion from string") from None
    if "/" not in text:
        raise CelValueError(f"network address {text!r} has no prefix length")
    return {CIDR: text}


def cidr_value(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(expect(value, CIDR), strict=False)


def cidr_address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(expect(value, CIDR).split("/", 1)[0])


# ---- semver -----------------------------------------------------------------------


def make_semver(text: str) -> dict[str, str]:
    if not _SEMVER.match(text):
        raise CelValueError(f"could not parse {text!r} as a semantic version")
    return {SEMVER: text}


def semver_key(value: Any) -> tuple[int, int, int, tuple[tuple[int, int | str], ...], bool]:
    match = _SEMVER.match(expect(value, SEMVER))
    assert match is not None
    pre = match.group(4)
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre else ()
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), parts, not pre


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 for two quantities or two semvers."""
    tag = tagged(left)
    if tag is None or tagged(right) is None or tag[0] != tagged(right)[0]:  # type: ignore[index]
        raise CelValueError("compareTo needs two values of the same kind (quantity or semver)")
    if tag[0] == QUANTITY:
        a, b = quantity_value(left), quantity_value(right)
        return (a > b) - (a < b)
    if tag[0] == SEMVER:
        ka, kb = semver_key(left), semver_key(right)
        core_a, core_b = ka[:3], kb[:3]
        if core_a != core_b:
            return (core_a > core_b) - (core_a < core_b)
        if ka[4] != kb[4]:
            return 1 if ka[4] else -1
        return (ka[3] > kb[3]) - (ka[3] < kb[3])
    raise CelValueError("compareTo is defined for quantity and semver values")


def as_map(value: Any) -> dict[str, Any]:
    """`value` when it is a mapping, else an empty dict (YAML fields may hold anything)."""
    return value if isinstance(value, dict) else {}
