"""Kyverno's wildcard matching: `*` is any run of characters, `?` exactly one.

Kyverno matches names, namespaces, kinds, label values and pattern strings with
the same two wildcards (no character classes), so a compiled regular
expression per pattern is cached here and shared by every module.
"""

from __future__ import annotations

import functools
import re


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@functools.lru_cache(maxsize=8192)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def match(pattern: str, text: str) -> bool:
    """True when `text` matches the wildcard `pattern` as a whole."""
    if pattern == text:
        return True
    if "*" not in pattern and "?" not in pattern:
        return False
    if pattern == "*":
        return True
    return _compile(pattern).fullmatch(text) is not None
