"""Semantic versions and constraints for `semver_compare` and numeric operators."""

from __future__ import annotations

import re
from typing import Any

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def parse(text: str) -> tuple[int, int, int, tuple[object, ...]] | None:
    m = _SEMVER.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), pre


def compare(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    pa, pb = a[3], b[3]
    if pa == pb:
        return 0
    if not pa:
        return 1
    if not pb:
        return -1
    for x, y in zip(pa, pb):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, int):
            return -1
        if isinstance(y, int):
            return 1
        return -1 if str(x) < str(y) else 1
    return -1 if len(pa) < len(pb) else 1


def satisfies(version: str, constraint: str) -> bool:
    v = parse(version)
    if v is None:
        return False
    for clause in constraint.split("||"):
        if all(_check(v, part) for part in clause.split()):
            return True
    return False


def _check(v: tuple[Any, ...], part: str) -> bool:
    m = re.match(r"^(>=|<=|!=|==|=|>|<)?(.+)$", part)
    if not m:
        return False
    op, target_text = m.group(1) or "=", m.group(2)
    target = parse(target_text)
    if target is None:
        return False
    c = compare(v, target)
    return {"=": c == 0, "==": c == 0, "!=": c != 0, ">": c > 0, ">=": c >= 0, "<": c < 0, "<=": c <= 0}[op]
