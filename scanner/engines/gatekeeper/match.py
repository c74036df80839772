"""`spec.match` of a Constraint: which objects it applies to, as Gatekeeper decides.

Every criterion that is set must hold (kinds, scope, namespaces,
excludedNamespaces, labelSelector, namespaceSelector, name); an unset one
matches everything. Namespace and name patterns are Gatekeeper's wildcards:
a `*` at the start and/or end only. A namespaced object's namespace comes
from the review (or the object); a Namespace object is its own namespace. On
UPDATE the constraint applies when either the new or the old object matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from scanner.errors import PolicyError

SCOPES = ("*", "Cluster", "Namespaced")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class NamespaceUnknown(Exception):
    """A namespaceSelector must be checked against a Namespace nobody supplied."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.namespace = namespace


def wildcard_matches(pattern: str, value: str) -> bool:
    """Gatekeeper's wildcard: `kube-*` (prefix), `*-system` (suffix), `*sys*` (contains), else exact."""
    if len(pattern) > 1 and pattern.startswith("*") and pattern.endswith("*"):
        return pattern[1:-1] in value
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return pattern == value


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def holds(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values  # NotIn


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector: matchLabels and matchExpressions, ANDed."""

    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.holds(labels) for r in self.requirements)


@dataclass(frozen=True)
class KindSelector:
    api_groups: tuple[str, ...]
    kinds: tuple[str, ...]

    def matches(self, group: str, kind: str) -> bool:
        kind_ok = not self.kinds or "*" in self.kinds or kind in self.kinds
        group_ok = not self.api_groups or "*" in self.api_groups or group in self.api_groups
        return kind_ok and group_ok


@dataclass(frozen=True)
class MatchTarget:
    """What matching needs to know about one object under review."""

    obj: Mapping[str, Any]
    namespace: str  # of the request, or the object's own; "" for cluster-scoped
    namespace_labels: Mapping[str, str] | None  # None when the Namespace is not known

    @property
    def group(self) -> str:
        api_version = str(self.obj.get("apiVersion") or "")
        return api_version.rpartition("/")[0] if "/" in api_version else ""

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def is_namespace(self) -> bool:
        return self.kind == "Namespace" and self.group == ""

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def labels(self) -> Mapping[str, str]:
        labels = self.metadata.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    @property
    def own_namespace(self) -> str:
        """The namespace that namespace criteria look at ("" for cluster-scoped non-Namespaces)."""
        return self.name if self.is_namespace else self.namespace


@dataclass(frozen=True)
class Match:
    """A constraint's `spec.match`, checked."""

    kinds: tuple[KindSelector, ...] = ()
    scope: str = "*"
    namespaces: tuple[str, ...] = ()
    excluded_namespaces: tuple[str, ...] = ()
    label_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    name: str = ""

    def matches(self, target: MatchTarget) -> bool:
        """True when every criterion holds; raises NamespaceUnknown when a selector needs an unknown Namespace."""
        return (
            self._kinds(target)
            and self._scope(target)
            and self._namespaces(target)
            and self._excluded(target)
            and (self.label_selector is None or self.label_selector.matches(target.labels))
            and self._namespace_selector(target)
            and (not self.name or wildcard_matches(self.name, target.name))
        )

    def _kinds(self, target: MatchTarget) -> bool:
        return not self.kinds or any(k.matches(target.group, target.kind) for k in self.kinds)

    def _scope(self, target: MatchTarget) -> bool:
        namespaced = bool(target.namespace)
        if self.scope == "Cluster":
            return target.is_namespace or not namespaced
        if self.scope == "Namespaced":
            return not target.is_namespace and namespaced
        return True

    def _namespaces(self, target: MatchTarget) -> bool:
        namespace = target.own_namespace
        if not self.namespaces or not namespace:
            return True
        return any(wildcard_matches(p, namespace) for p in self.namespaces)

    def _excluded(self, target: MatchTarget) -> bool:
        namespace = target.own_namespace
        if not self.excluded_namespaces or not namespace:
            return True
        return not any(wildcard_matches(p, namespace) for p in self.excluded_namespaces)

    def _namespace_selector(self, target: MatchTarget) -> bool:
        if self.namespace_selector is None:
            return True
        if target.is_namespace:
            return self.namespace_selector.matches(target.labels)
        if not target.namespace:
            return True  # cluster-scoped objects are not filtered by namespaceSelector
        if target.namespace_labels is None:
            raise NamespaceUnknown(target.namespace)
        return self.namespace_selector.matches(target.namespace_labels)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if v is not None)


def parse_selector(raw: Any, where: str, fail: FailAt) -> LabelSelector | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail(f"{where} must be a mapping", where)
    requirements: list[Requirement] = []
    labels = raw.get("matchLabels") or {}
    if not isinstance(labels, dict):
        raise fail(f"{where}.matchLabels must be a mapping", f"{where}.matchLabels")
    requirements.extend(Requirement(str(k), "In", (str(v),)) for k, v in labels.items())
    for i, expr in enumerate(raw.get("matchExpressions") or []):
        at = f"{where}.matchExpressions[{i}]"
        if not isinstance(expr, dict) or not expr.get("key"):
            raise fail(f"{at} needs a key", at)
        operator = str(expr.get("operator"))
        values = _strings(expr.get("values"))
        if operator not in SELECTOR_OPERATORS:
            raise fail(f"{at}.operator {operator!r} is not one of {', '.join(SELECTOR_OPERATORS)}", at)
        if operator in ("In", "NotIn") and not values:
            raise fail(f"{at}: {operator} needs at least one value", at)
        if operator in ("Exists", "DoesNotExist") and values:
            raise fail(f"{at}: {operator} takes no values", at)
        requirements.append(Requirement(str(expr["key"]), operator, values))
    return LabelSelector(tuple(requirements))


class FailAt:
    """Builds PolicyErrors pointing at a field of the constraint's `spec.match`."""

    def __init__(self, path: str, line_of: Any, prefix: str) -> None:
        self.path, self.line_of, self.prefix = path, line_of, prefix

    def __call__(self, message: str, field: str) -> PolicyError:
        return PolicyError(f"{self.prefix}: spec.match: {message}", path=self.path, line=self.line_of(f"spec.match.{field}"))


def parse_match(raw: Any, fail: FailAt) -> Match:
    """A `Match` from `spec.match`; PolicyError for what Gatekeeper's schema would reject."""
    if raw is None:
        return Match()
    if not isinstance(raw, dict):
        raise fail("must be a mapping", "")
    kinds: list[KindSelector] = []
    for i, entry in enumerate(raw.get("kinds") or []):
        if not isinstance(entry, dict):
            raise fail(f"kinds[{i}] must be a mapping with apiGroups and kinds", f"kinds[{i}]")
        kinds.append(KindSelector(_strings(entry.get("apiGroups")), _strings(entry.get("kinds"))))
    scope = str(raw.get("scope") or "*")
    if scope not in SCOPES:
        raise fail(f"scope {scope!r} is not one of {', '.join(SCOPES)}", "scope")
    name = raw.get("name") or ""
    return Match(
        kinds=tuple(kinds),
        scope=scope,
        namespaces=_strings(raw.get("namespaces")),
        excluded_namespaces=_strings(raw.get("excludedNamespaces")),
        label_selector=parse_selector(raw.get("labelSelector"), "labelSelector", fail),
        namespace_selector=parse_selector(raw.get("namespaceSelector"), "namespaceSelector", fail),
        name=str(name),
    )


def matches_any(match: Match, targets: Sequence[MatchTarget]) -> bool:
    """Gatekeeper's rule for a review: the object or the old object matches."""
    return any(match.matches(t) for t in targets)
