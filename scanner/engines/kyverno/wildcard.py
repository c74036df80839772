"""Kyverno's wildcard matching: `*` is any run of characters, `?` exactly one.

Kyverno matches names, namespaces, kinds, label values and pattern strings with
the same two wildcards (no character classes). Matching is done without a
backtracking regular expression: a pattern like `*a*a*a*...*ac` turned into
`.*a.*a.*...` takes exponential time in Python's `re` on a 40-character
label, and `*/*/*:*` took minutes on a 12 KB image string. Here the pattern
is split at its stars; the first piece must start the text, the last must end
it, and each piece between is found leftmost after the previous one (which
is always safe for `*`), so the work is about one scan of the text per piece.
"""

from __future__ import annotations

import functools
import re


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@functools.lru_cache(maxsize=8192)
def _pieces(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("*"))


@functools.lru_cache(maxsize=8192)
def _piece_regex(piece: str) -> re.Pattern[str]:
    """A piece holding `?`: literal characters and `.`, no repetition, so no backtracking blow-up."""
    return re.compile("".join("." if c == "?" else re.escape(c) for c in piece), re.DOTALL)


def _piece_at(piece: str, text: str, position: int) -> bool:
    """True when `piece` matches `text` starting exactly at `position`."""
    if "?" not in piece:
        return text.startswith(piece, position)
    if position + len(piece) > len(text):
        return False
    return all(p == "?" or p == t for p, t in zip(piece, text[position : position + len(piece)]))


def _find_piece(piece: str, text: str, start: int, end: int) -> int:
    """Leftmost position in `text[start:end]` where `piece` matches, or -1."""
    if "?" not in piece:
        return text.find(piece, start, end)
    found = _piece_regex(piece).search(text, start, end)
    return found.start() if found else -1


def match(pattern: str, text: str) -> bool:
    """True when `text` matches the wildcard `pattern` as a whole."""
    if pattern == text:
        return True
    if "*" not in pattern and "?" not in pattern:
        return False
    if pattern == "*":
        return True
    pieces = _pieces(pattern)
    if len(pieces) == 1:  # only `?`
        return len(pattern) == len(text) and _piece_at(pattern, text, 0)
    first, *middle, last = pieces
    if len(first) + len(last) > len(text):
        return False
    if not _piece_at(first, text, 0) or not _piece_at(last, text, len(text) - len(last)):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        if not piece:
            continue
        found = _find_piece(piece, text, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True
