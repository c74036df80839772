"""Pattern anchors: `(k)` condition, `^(k)` existence, `=(k)` equality,
`X(k)` negation, `<(k)` global and `+(k)` add-if-not-present.

Parsing is cached per key string: a policy's keys are parsed once and reused
for every document.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

CONDITION, EXISTENCE, EQUALITY, NEGATION, GLOBAL, ADD = "()", "^()", "=()", "X()", "<()", "+()"

_ANCHOR = re.compile(r"^(\^|=|X|<|\+)?\((.+)\)$")
_PREFIX = {None: CONDITION, "^": EXISTENCE, "=": EQUALITY, "X": NEGATION, "<": GLOBAL, "+": ADD}


@dataclass(frozen=True)
class Anchor:
    kind: str
    key: str


@functools.lru_cache(maxsize=16384)
def parse(key: str) -> Anchor | None:
    """The anchor in a pattern key, or None for a plain key."""
    if not key or key[-1] != ")":
        return None
    m = _ANCHOR.match(key)
    if not m:
        return None
    return Anchor(_PREFIX[m.group(1)], m.group(2))


def looks_malformed(key: str) -> bool:
    """A key that starts like an anchor but does not parse as one (`=(name`)."""
    if parse(key) is not None:
        return False
    return bool(re.match(r"^(\^|=|X|<|\+)?\(", key)) and not key.endswith(")") or bool(
        re.match(r"^(\^|=|X|<|\+)\($", key)
    )


def key_of(key: str) -> str:
    anchor = parse(key)
    return anchor.key if anchor else key
