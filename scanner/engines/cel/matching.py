"""`matchConstraints` of admission policies: which requests a policy sees.

ValidatingAdmissionPolicy, its bindings' `matchResources` and Kyverno's
ValidatingPolicy select requests by resource rules (API group, version,
plural resource, operation), exclude rules, a namespace selector and an
object selector. Offline, the plural resource comes from the kind by
Kubernetes' naming rules, and namespace labels from the scanned Namespace
objects or the test file's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from scanner.engines.cel.values import as_map

_IRREGULAR = {"endpoints": "endpoints", "podsecuritypolicy": "podsecuritypolicies"}
CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
    "CustomResourceDefinition", "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService", "IngressClass", "RuntimeClass",
    "CSIDriver", "CSINode", "VolumeAttachment", "ClusterPolicy", "CertificateSigningRequest", "ClusterIssuer",
}


def plural(kind: str) -> str:
    """The API resource name of a kind: Pod -> pods, Ingress -> ingresses, NetworkPolicy -> networkpolicies."""
    lower = kind.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def group_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


@dataclass(frozen=True)
class RequestTarget:
    """What a request is about, as matchConstraints see it."""

    group: str
    version: str
    kind: str
    resource: str
    name: str
    namespace: str
    operation: str
    labels: dict[str, Any] = field(default_factory=dict)
    namespace_labels: dict[str, Any] | None = None  # None: unknown namespace / cluster-scoped
    subresource: str = ""

    @classmethod
    def of(cls, obj: dict[str, Any], operation: str, namespace_labels: dict[str, Any] | None = None) -> RequestTarget:
        meta = as_map(obj.get("metadata"))
        group, version = group_version(str(obj.get("apiVersion") or ""))
        kind = str(obj.get("kind") or "")
        namespace = str(meta.get("namespace") or "")
        if kind == "Namespace":
            namespace_labels = dict(meta.get("labels") or {})
        return cls(group, version, kind, plural(kind), str(meta.get("name") or ""), namespace, operation,
                   dict(meta.get("labels") or {}), namespace_labels)


def selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    """A Kubernetes label selector; an empty or missing selector matches everything."""
    if not isinstance(selector, dict) or not selector:
        return True
    for key, expected in (selector.get("matchLabels") or {}).items():
        if str(labels.get(key)) != str(expected) or key not in labels:
            return False
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, dict):
            return False
        key = str(expression.get("key"))
        wanted = {str(v) for v in expression.get("values") or []}
        present = key in labels
        operator = expression.get("operator")
        if operator == "In" and not (present and str(labels[key]) in wanted):
            return False
        if operator == "NotIn" and present and str(labels[key]) in wanted:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _listed(values: Any, actual: str) -> bool:
    items = [str(v) for v in values or []]
    return "*" in items or actual in items


def rule_matches(rule: Any, target: RequestTarget) -> bool:
    """One `resourceRules` entry (apiGroups, apiVersions, resources, operations, resourceNames, scope)."""
    if not isinstance(rule, dict):
        return False
    if not _listed(rule.get("apiGroups"), target.group) or not _listed(rule.get("apiVersions"), target.version):
        return False
    operations = [str(o) for o in rule.get("operations") or ["*"]]
    if "*" not in operations and target.operation not in operations:
        return False
    resource = f"{target.resource}/{target.subresource}" if target.subresource else target.resource
    resources = [str(r) for r in rule.get("resources") or []]
    if not any(r in ("*", "*/*", resource) or (r.endswith("/*") and r[:-2] == target.resource and target.subresource)
               or (r.startswith("*/") and target.subresource == r[2:]) for r in resources):
        return False
    names = rule.get("resourceNames") or []
    if names and target.name not in [str(n) for n in names]:
        return False
    scope = str(rule.get("scope") or "*")
    cluster_scoped = target.kind in CLUSTER_SCOPED or (not target.namespace and target.kind != "")
    if scope == "Namespaced" and cluster_scoped:
        return False
    if scope == "Cluster" and not cluster_scoped:
        return False
    return True


def constraints_match(constraints: Any, target: RequestTarget) -> bool:
    """True when `matchConstraints` / `matchResources` select the request."""
    if not isinstance(constraints, dict):
        return False
    rules = constraints.get("resourceRules")
    if rules is not None and not any(rule_matches(r, target) for r in rules):
        return False
    if any(rule_matches(r, target) for r in constraints.get("excludeResourceRules") or []):
        return False
    if not selector_matches(constraints.get("objectSelector"), target.labels):
        return False
    namespace_selector = constraints.get("namespaceSelector")
    if namespace_selector and (target.namespace or target.kind == "Namespace"):
        if not selector_matches(namespace_selector, target.namespace_labels or {}):
            return False
    return True
