"""Kubernetes quantities and Go durations, compared the way Kyverno does.

Kyverno compares `"500m" < "1"` as CPU quantities and `"1h" > "30m"` as
durations before it falls back to strings; both parsers return exact
`Decimal`s so `0.1 + 0.2` style rounding never flips a comparison.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]|)$"
)
_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


@functools.lru_cache(maxsize=4096)
def parse_quantity(text: str) -> Decimal | None:
    """`"1.5Gi"` -> bytes as Decimal; None when `text` is not a quantity."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    m = _QUANTITY.match(text.strip()) if text.strip() == text else None
    if not m:
        return None
    number, suffix = m.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return value * (Decimal(10) ** int(suffix[1:]))
    return value * _SUFFIX[suffix]


_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}


@functools.lru_cache(maxsize=4096)
def parse_duration(text: str) -> Decimal | None:
    """Go's `time.ParseDuration` in seconds (`"1h30m"` -> 5400); None if invalid."""
    if not isinstance(text, str) or not text or len(text) > 64:
        return None
    sign = Decimal(1)
    body = text
    if body[0] in "+-":
        sign = Decimal(-1) if body[0] == "-" else Decimal(1)
        body = body[1:]
    if body == "0":
        return Decimal(0)
    if not body:
        return None
    pos = 0
    total = Decimal(0)
    while pos < len(body):
        m = _DURATION_PART.match(body, pos)
        if not m:
            return None
        total += Decimal(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    return sign * total
