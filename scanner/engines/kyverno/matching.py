"""`match` and `exclude`: does a rule apply to this resource and request?

A resource filter lists kinds (`Pod`, `v1/Pod`, `apps/v1/Deployment`,
`Pod/status`, wildcards), names, namespaces, annotations, a label selector,
a namespace selector, operations and the requesting user's roles, cluster
roles and subjects. Every criterion a filter sets must hold; `any` needs one
filter to hold, `all` needs every one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from scanner.engines.kyverno import wildcard
from scanner.engines.kyverno.yamlio import as_map


@dataclass(frozen=True)
class RequestInfo:
    """Who asks and how: the admission request facts a rule can match on."""

    operation: str = "CREATE"
    username: str = ""
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    cluster_roles: tuple[str, ...] = ()

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.groups or self.roles or self.cluster_roles)


@dataclass
class ResourceView:
    """The facts about one resource that matching reads, computed once."""

    obj: dict[str, Any]
    kind: str
    group: str
    version: str
    name: str
    namespace: str
    labels: dict[str, Any]
    annotations: dict[str, Any]
    namespace_labels: dict[str, Any] = field(default_factory=dict)
    subresource: str = ""

    @classmethod
    def of(cls, obj: dict[str, Any], namespace_labels: dict[str, Any] | None = None) -> ResourceView:
        api_version = str(obj.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        meta = as_map(obj.get("metadata"))
        labels = as_map(meta.get("labels"))
        annotations = as_map(meta.get("annotations"))
        name = meta.get("name") or meta.get("generateName") or ""
        return cls(
            obj=obj,
            kind=str(obj.get("kind") or ""),
            group=group,
            version=version,
            name=str(name),
            namespace=str(meta.get("namespace") or ""),
            labels=labels,
            annotations=annotations,
            namespace_labels=namespace_labels or {},
        )


@functools.lru_cache(maxsize=4096)
def parse_kind(selector: str) -> tuple[str, str, str, str]:
    """`apps/v1/Deployment` -> (group, version, kind, subresource), `*` for any."""
    parts = selector.split("/")
    if len(parts) == 1:
        return "*", "*", parts[0], ""
    if len(parts) == 2:
        if parts[0][:1].isupper() or parts[0] == "*" and parts[1][:1].islower():
            return "*", "*", parts[0], parts[1]
        return "*", parts[0], parts[1], ""
    if len(parts) == 3:
        if parts[1][:1].isupper():
            return "*", parts[0], parts[1], parts[2]
        return parts[0], parts[1], parts[2], ""
    return parts[0], parts[1], parts[2], "/".join(parts[3:])


def kind_matches(selectors: list[Any], view: ResourceView) -> bool:
    for selector in selectors:
        if not isinstance(selector, str):
            continue
        if selector == "*":
            return True
        group, version, kind, sub = parse_kind(selector)
        if sub and sub != "*" and sub != view.subresource:
            continue
        if not sub and view.subresource:
            continue
        if not wildcard.match(kind, view.kind):
            continue
        if version != "*" and not wildcard.match(version, view.version):
            continue
        if group != "*" and not wildcard.match(group, view.group):
            continue
        return True
    return False


def _selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    for key, expected in match_labels.items():
        if wildcard.has_wildcard(key):
            hits = [k for k in labels if wildcard.match(key, k)]
            if not hits or not any(wildcard.match(str(expected), str(labels[k])) for k in hits):
                return False
            continue
        if key not in labels or not wildcard.match(str(expected), str(labels[key])):
            return False
    for expression in selector.get("matchExpressions") or []:
        key = expression.get("key")
        operator = expression.get("operator")
        wanted = [str(v) for v in expression.get("values") or []]
        present = key in labels
        actual = str(labels.get(key)) if present else None
        if operator == "In":
            if not present or actual not in wanted:
                return False
        elif operator == "NotIn":
            if present and actual in wanted:
                return False
        elif operator == "Exists":
            if not present:
                return False
        elif operator == "DoesNotExist":
            if present:
                return False
        else:
            return False
    return True


def _subjects_match(subjects: list[Any], request: RequestInfo) -> bool:
    for subject in subjects:
        if not isinstance(subject, dict):
            continue
        kind = subject.get("kind")
        name = str(subject.get("name") or "")
        if kind == "ServiceAccount":
            expected = f"system:serviceaccount:{subject.get('namespace') or ''}:{name}"
            if request.username == expected:
                return True
        elif kind == "User":
            if wildcard.match(name, request.username):
                return True
        elif kind == "Group":
            if any(wildcard.match(name, g) for g in request.groups):
                return True
    return False


def _user_criteria(block: dict[str, Any], request: RequestInfo) -> list[bool]:
    out: list[bool] = []
    if request.anonymous:
        return out  # no admission info (background scan, CLI without userinfo): Kyverno ignores user criteria
    roles = block.get("roles") or []
    if roles:
        out.append(any(r in request.roles for r in roles))
    cluster_roles = block.get("clusterRoles") or []
    if cluster_roles:
        out.append(any(r in request.cluster_roles for r in cluster_roles))
    subjects = block.get("subjects") or []
    if subjects:
        out.append(_subjects_match(subjects, request))
    return out


def _resource_criteria(desc: dict[str, Any], view: ResourceView, request: RequestInfo) -> list[bool]:
    out = []
    kinds = desc.get("kinds") or []
    if kinds:
        out.append(kind_matches(kinds, view))
    names = list(desc.get("names") or [])
    if desc.get("name"):
        names.append(desc["name"])
    if names:
        out.append(any(wildcard.match(str(n), view.name) for n in names))
    namespaces = desc.get("namespaces") or []
    if namespaces:
        target = view.name if view.kind == "Namespace" else view.namespace
        out.append(any(wildcard.match(str(n), target) for n in namespaces))
    annotations = desc.get("annotations") or {}
    if annotations:
        out.append(
            all(
                any(wildcard.match(str(k), ak) and wildcard.match(str(v), str(av)) for ak, av in view.annotations.items())
                for k, v in annotations.items()
            )
        )
    if desc.get("selector") is not None:
        out.append(_selector_matches(desc["selector"], view.labels))
    if desc.get("namespaceSelector") is not None:
        if view.kind == "Namespace":
            ns_labels = view.labels
        else:
            ns_labels = view.namespace_labels
        out.append(bool(view.namespace or view.kind == "Namespace") and _selector_matches(desc["namespaceSelector"], ns_labels))
    operations = desc.get("operations") or []
    if operations:
        out.append(request.operation in operations)
    return out


def filter_matches(block: dict[str, Any], view: ResourceView, request: RequestInfo, empty: bool = False) -> bool:
    """One resource filter (`resources` + user criteria): every set criterion holds.

    A filter left with no criteria (say only `clusterRoles` when there is no
    admission info) does not hold: without a user, user criteria cannot
    exclude anything.
    """
    criteria = _resource_criteria(block.get("resources") or {}, view, request)
    criteria += _user_criteria(block, request)
    if not criteria:
        return empty
    return all(criteria)


def _legacy_block(block: dict[str, Any]) -> dict[str, Any]:
    return {k: block.get(k) for k in ("resources", "roles", "clusterRoles", "subjects") if block.get(k)}


def rule_matches(match: Any, view: ResourceView, request: RequestInfo) -> bool:
    if not isinstance(match, dict):
        return False
    if match.get("any"):
        return any(filter_matches(f, view, request) for f in match["any"] if isinstance(f, dict))
    if match.get("all"):
        return all(filter_matches(f, view, request) for f in match["all"] if isinstance(f, dict))
    legacy = _legacy_block(match)
    return bool(legacy) and filter_matches(legacy, view, request)


def rule_excludes(exclude: Any, view: ResourceView, request: RequestInfo) -> bool:
    """`exclude` has the same shape as `match`; an empty one excludes nothing."""
    return bool(exclude) and rule_matches(exclude, view, request)
