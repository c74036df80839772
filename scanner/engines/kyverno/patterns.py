"""Match a resource against a Kyverno validate pattern.

The walk follows Kyverno's rules: anchors in a map are checked before plain
keys; a failed condition (`(k)`) or global (`<(k)`) anchor makes the rule
*skip* rather than fail; a negation anchor (`X(k)`) that finds its key
fails; a list pattern of one map applies to every item, and items whose
condition anchors do not hold are passed over. The result says pass, skip,
fail (with the path Kyverno prints, e.g. `/spec/containers/0/image/`) or
error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from scanner.engines.kyverno import anchors, values, wildcard
from scanner.engines.kyverno.budget import MAX_DEPTH, Budget, EvaluationLimit
from scanner.engines.kyverno.yamlio import as_map

COND, GLOBAL, NEG = 1, 2, 4


@dataclass
class Mismatch:
    """Why a pattern did not match: the path and what kind of anchor failed."""

    path: tuple[str | int, ...] | None  # None: Kyverno reports no path (an error, not a failure)
    message: str
    flags: int = 0  # COND | GLOBAL | NEG, as Kyverno reads them from the message

    @property
    def skips(self) -> bool:
        return bool(self.flags & (COND | GLOBAL))


def kyverno_path(parts: tuple[str | int, ...]) -> str:
    """Kyverno's way of printing a pattern path: `/spec/containers/0/image/`."""
    return "/" + "".join(f"{p}/" for p in parts)


@dataclass
class PatternOutcome:
    status: str  # pass | skip | fail | error
    parts: tuple[str | int, ...] | None = None
    message: str = ""

    @property
    def path(self) -> str:
        return kyverno_path(self.parts) if self.parts is not None else ""

    def json_path(self) -> tuple[str | int, ...] | None:
        return self.parts


@dataclass
class _Walk:
    budget: Budget | None
    depth: int = 0
    # condition/existence/negation anchor keys -> found in some visited map
    anchor_keys: dict[str, bool] = field(default_factory=dict)

    def note_anchor_keys(self, pattern: dict[str, Any], resource: dict[str, Any]) -> None:
        for key in pattern:
            if key[-1:] != ")":
                continue
            anchor = anchors.parse(key)
            if anchor is None or anchor.kind not in (anchors.CONDITION, anchors.EXISTENCE, anchors.NEGATION):
                continue
            if not self.anchor_keys.get(key):
                self.anchor_keys[key] = anchor.key in resource

    @property
    def anchor_missing(self) -> bool:
        """Kyverno's IsAnchorError: some anchor key was never found in the resource."""
        return not all(self.anchor_keys.values())


def match_pattern(resource: Any, pattern: Any, budget: Budget | None = None) -> PatternOutcome:
    """Kyverno's MatchPattern: pass, skip (anchor did not apply) or fail."""
    walk = _Walk(budget)
    miss = _element(walk, resource, pattern, ())
    if miss is None:
        return PatternOutcome("pass")
    if miss.skips:
        return PatternOutcome("skip", None, miss.message)
    if miss.flags & NEG:
        return PatternOutcome("fail", miss.path or (), miss.message)
    if walk.anchor_missing or miss.path is None:
        return PatternOutcome("error", None, miss.message)
    return PatternOutcome("fail", miss.path, miss.message)


def _element(walk: _Walk, resource: Any, pattern: Any, path: tuple[str | int, ...]) -> Mismatch | None:
    if walk.budget is not None:
        walk.budget.charge()
    if isinstance(pattern, dict):
        if not isinstance(resource, dict):
            return Mismatch(path, f"pattern and resource have different structures. Path: {kyverno_path(path)}")
        walk.note_anchor_keys(pattern, resource)
        walk.depth += 1
        if walk.depth > MAX_DEPTH:
            raise EvaluationLimit(f"pattern nested deeper than {MAX_DEPTH} levels")
        try:
            return _map(walk, resource, pattern, path)
        finally:
            walk.depth -= 1
    if isinstance(pattern, list):
        if not isinstance(resource, list):
            return Mismatch(
                path,
                f"validation rule failed at path {kyverno_path(path)}, resource does not satisfy the expected overlay pattern",
            )
        return _array(walk, resource, pattern, path)
    if pattern is None or isinstance(pattern, (str, int, float, bool)):
        if isinstance(resource, list):
            for item in resource:
                if not values.validate(item, pattern):
                    return Mismatch(path, f"resource value '{resource}' does not match '{pattern}' at path {kyverno_path(path)}")
            return None
        if not values.validate(resource, pattern):
            return Mismatch(path, f"resource value '{resource}' does not match '{pattern}' at path {kyverno_path(path)}")
        return None
    return Mismatch(path, f"failed at '{kyverno_path(path)}', pattern contains unknown type")


def _expand_metadata(pattern: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """Wildcard label/annotation keys in `metadata` take the resource's real keys."""
    meta_key = next((k for k in pattern if anchors.key_of(k) == "metadata"), None)
    if meta_key is None or not isinstance(pattern[meta_key], dict):
        return pattern
    meta_pattern = pattern[meta_key]
    meta_resource = as_map(resource.get("metadata"))
    changed = False
    new_meta = dict(meta_pattern)
    for section in ("labels", "annotations"):
        sec_key = next((k for k in meta_pattern if anchors.key_of(k) == section), None)
        if sec_key is None or not isinstance(meta_pattern[sec_key], dict):
            continue
        actual = as_map(meta_resource.get(section))
        expanded: dict[str, Any] = {}
        touched = False
        for key, value in meta_pattern[sec_key].items():
            anchor = anchors.parse(key)
            bare = anchor.key if anchor else key
            if not wildcard.has_wildcard(bare):
                expanded[key] = value
                continue
            hits = [k for k in actual if wildcard.match(bare, k)]
            if not hits:
                expanded[key] = value
                continue
            touched = True
            for hit in hits:
                new_key = anchor.kind.replace("()", f"({hit})") if anchor else hit
                expanded[new_key] = value
        if touched:
            new_meta[sec_key] = expanded
            changed = True
    if not changed:
        return pattern
    out = dict(pattern)
    out[meta_key] = new_meta
    return out


def _has_nested_anchors(pattern: Any) -> bool:
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            anchor = anchors.parse(key)
            if anchor is not None and anchor.kind != anchors.ADD:
                return True
            if _has_nested_anchors(value):
                return True
        return False
    if isinstance(pattern, list):
        return any(_has_nested_anchors(v) for v in pattern)
    return False


_ORDER = {anchors.GLOBAL: 0, anchors.CONDITION: 1, anchors.EXISTENCE: 2, anchors.EQUALITY: 3, anchors.NEGATION: 4}


def _map(walk: _Walk, resource: dict[str, Any], pattern: dict[str, Any], path: tuple[str | int, ...]) -> Mismatch | None:
    if "metadata" in pattern or any(k.endswith("(metadata)") for k in pattern):
        pattern = _expand_metadata(pattern, resource)
    anchored: list[tuple[int, str, anchors.Anchor, Any]] = []
    plain_front: list[str] = []
    plain_back: list[str] = []
    for key in sorted(pattern):
        anchor = anchors.parse(key)
        if anchor is not None and anchor.kind in _ORDER:
            anchored.append((_ORDER[anchor.kind], key, anchor, pattern[key]))
        elif _has_nested_anchors(pattern[key]):
            plain_front.append(key)
        else:
            plain_back.append(key)
    anchored.sort(key=lambda item: item[0])
    for _, key, anchor, sub in anchored:
        miss = _anchor(walk, resource, anchor, sub, path)
        if miss is not None:
            return miss
    for key in list(reversed(plain_front)) + plain_back:
        anchor = anchors.parse(key)
        name = anchor.key if anchor is not None else key
        sub = pattern[key]
        current = path + (name,)
        if sub == "*":
            if resource.get(name) is None:
                return Mismatch(path, f"{kyverno_path(path)}/{name} not found")
            continue
        miss = _element(walk, resource.get(name), sub, current)
        if miss is not None:
            return miss
    return None


def _anchor(walk: _Walk, resource: dict[str, Any], anchor: anchors.Anchor, sub: Any, path: tuple[str | int, ...]) -> Mismatch | None:
    key = anchor.key
    current = path + (key,)
    present = key in resource
    if anchor.kind == anchors.NEGATION:
        if present:
            return Mismatch(current, f"negation anchor matched in resource: {kyverno_path(current)} is not allowed", NEG)
        return None
    if anchor.kind == anchors.EQUALITY:
        if present:
            return _element(walk, resource[key], sub, current)
        return None
    if anchor.kind == anchors.CONDITION:
        if not present:
            return Mismatch(current, "conditional anchor mismatch: conditional anchor key doesn't exist in the resource", COND)
        miss = _element(walk, resource[key], sub, current)
        if miss is not None:
            return Mismatch(miss.path, f"conditional anchor mismatch: {miss.message}", miss.flags | COND)
        return None
    if anchor.kind == anchors.GLOBAL:
        if not present:
            return None
        miss = _element(walk, resource[key], sub, current)
        if miss is not None:
            return Mismatch(miss.path, f"global anchor mismatch: {miss.message}", miss.flags | GLOBAL)
        return None
    # existence
    if not present:
        return None
    items = resource[key]
    if not isinstance(items, list):
        return Mismatch(current, f"invalid resource type {type(items).__name__}: Existence ^ () anchor can be used only on list/array type resource")
    if not isinstance(sub, list):
        return Mismatch(current, "invalid pattern type: Pattern has to be of list to compare against resource")
    for pattern_item in sub:
        if not isinstance(pattern_item, dict):
            return Mismatch(current, "invalid pattern type: Pattern has to be of type map to compare against items in resource")
        if not any(_element(walk, item, pattern_item, current + (i,)) is None for i, item in enumerate(items)):
            return Mismatch(current, f"existence anchor validation failed at path {kyverno_path(current)}")
    return None


def _array(walk: _Walk, resource: list[Any], pattern: list[Any], path: tuple[str | int, ...]) -> Mismatch | None:
    if not pattern:
        return Mismatch(path, "pattern Array empty")
    first = pattern[0]
    if isinstance(first, dict):
        return _elements(walk, ((item, first, path + (i,)) for i, item in enumerate(resource)), path)
    if first is None or isinstance(first, (str, int, float, bool)):
        return _element(walk, resource, first, path)
    if len(resource) < len(pattern):
        return Mismatch(
            None,
            f"validate Array failed, array length mismatch, resource Array len is {len(resource)} and pattern Array len is {len(pattern)}",
        )
    return _elements(walk, ((resource[i], sub, path + (i,)) for i, sub in enumerate(pattern)), path)


def _elements(
    walk: _Walk, pairs: Iterable[tuple[Any, Any, tuple[str | int, ...]]], path: tuple[str | int, ...]
) -> Mismatch | None:
    """Match (resource item, pattern, path) pairs: the first real mismatch
    wins; when every pair was skipped by an anchor, the array is skipped too."""
    applied = 0
    skipped: list[Mismatch] = []
    for item, sub, sub_path in pairs:
        miss = _element(walk, item, sub, sub_path)
        if miss is None:
            applied += 1
            continue
        if miss.skips:
            skipped.append(miss)
            continue
        return miss
    if applied == 0 and skipped:
        flags = 0
        for miss in skipped:
            flags |= miss.flags
        return Mismatch(path, "; ".join(m.message for m in skipped), flags)
    return None
