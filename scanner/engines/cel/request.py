"""The CEL variables of one admission request, built offline from a scanned object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.engines.cel.matching import group_version, plural
from scanner.engines.cel.values import as_map

POD_CONTROLLER_TEMPLATES: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@dataclass(frozen=True)
class UserInfo:
    username: str = ""
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def request_variable(obj: dict[str, Any], operation: str, user: UserInfo | None = None,
                     old_object: dict[str, Any] | None = None, dry_run: bool = False, uid: str = "") -> dict[str, Any]:
    """`request` as an AdmissionRequest carries it (kind, resource, name, namespace, operation, userInfo)."""
    meta = as_map(obj.get("metadata"))
    group, version = group_version(str(obj.get("apiVersion") or ""))
    kind = str(obj.get("kind") or "")
    user = user or UserInfo()
    return {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": plural(kind)},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": plural(kind)},
        "name": str(meta.get("name") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "operation": operation,
        "userInfo": {"username": user.username, "groups": list(user.groups), "uid": user.uid,
                     **({"extra": user.extra} if user.extra else {})},
        "dryRun": dry_run,
        "options": {},
    }


def namespace_object(namespace: str, labels: dict[str, Any] | None) -> dict[str, Any] | None:
    """`namespaceObject` built from the namespace's name and labels (None for cluster-scoped objects)."""
    if not namespace:
        return None
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, **({"labels": labels} if labels else {})}}


def admission_variables(reviewed: dict[str, Any], operation: str, user: UserInfo | None,
                        obj: dict[str, Any], old: dict[str, Any] | None,
                        namespace: dict[str, Any] | None) -> dict[str, Any]:
    """object, oldObject, request, namespaceObject and params (None) for one request.

    `reviewed` is the object the request is about; `obj`/`old` are what CEL
    sees as the object (a Pod template for autogen). On DELETE the object is
    `oldObject` and `object` is null, as in admission.
    """
    is_delete = operation == "DELETE"
    return {
        "object": None if is_delete else obj,
        "oldObject": obj if is_delete else old,
        "request": request_variable(reviewed, operation, user, old),
        "namespaceObject": namespace,
        "params": None,
    }


def pod_view(obj: dict[str, Any], with_metadata: bool = True) -> dict[str, Any] | None:
    """A pod controller seen as its Pod template (for autogen), or None for other kinds."""
    path = POD_CONTROLLER_TEMPLATES.get(str(obj.get("kind") or ""))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    view = dict(obj)
    view["spec"] = as_map(node.get("spec"))
    if with_metadata:
        view["metadata"] = as_map(node.get("metadata"))
    return view
