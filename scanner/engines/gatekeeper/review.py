"""`input.review` and `data.inventory`, laid out as Gatekeeper lays them out.

A review is the admission request a template sees: `kind` ({group,
version, kind}), `name`, `namespace`, `operation`, `object`, `oldObject`,
`userInfo`, `dryRun`, `uid`. For an object reviewed outside admission
(gator's plain objects, audit) Gatekeeper sends only kind, name and object;
cdgate's gate reviews what a pull request would apply, so it sends the
operation too (CREATE unless the webhook says otherwise).

The inventory is Gatekeeper's synced cache:
`cluster/<group/version>/<Kind>/<name>` for cluster-scoped objects and
`namespace/<ns>/<group/version>/<Kind>/<name>` for namespaced ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from scanner.engines.gatekeeper.match import MatchTarget


def group_version_kind(obj: Mapping[str, Any]) -> dict[str, str]:
    api_version = str(obj.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    return {"group": group, "version": version, "kind": str(obj.get("kind") or "")}


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class Review:
    """One object under review: the `input.review` value and what matching needs."""

    value: Mapping[str, Any]

    @property
    def obj(self) -> Mapping[str, Any] | None:
        obj = self.value.get("object")
        return obj if isinstance(obj, dict) and obj else None

    @property
    def old_obj(self) -> Mapping[str, Any] | None:
        old = self.value.get("oldObject")
        return old if isinstance(old, dict) and old else None

    @property
    def namespace(self) -> str:
        """The request's namespace, else the object's own."""
        namespace = self.value.get("namespace")
        if namespace:
            return str(namespace)
        for obj in (self.obj, self.old_obj):
            if obj is not None and _metadata(obj).get("namespace"):
                return str(_metadata(obj)["namespace"])
        return ""

    def match_targets(self, namespace_labels: Mapping[str, str] | None) -> list[MatchTarget]:
        """The object and the old object as matching sees them (the request's namespace first)."""
        request_namespace = str(self.value.get("namespace") or "")
        return [
            MatchTarget(obj, request_namespace or str(_metadata(obj).get("namespace") or ""), namespace_labels)
            for obj in (self.obj, self.old_obj)
            if obj is not None
        ]


def object_review(
    obj: Mapping[str, Any],
    *,
    operation: str | None = None,
    old_object: Mapping[str, Any] | None = None,
    user_info: Mapping[str, Any] | None = None,
    namespace: str | None = None,
    dry_run: bool | None = None,
    uid: str | None = None,
) -> Review:
    """The review of one object; fields that are not given are left out, as Gatekeeper leaves them."""
    meta = _metadata(obj)
    value: dict[str, Any] = {"kind": group_version_kind(obj), "object": dict(obj)}
    if meta.get("name"):
        value["name"] = str(meta["name"])
    ns = namespace if namespace is not None else meta.get("namespace")
    if ns:
        value["namespace"] = str(ns)
    if operation:
        value["operation"] = operation
    if old_object is not None:
        value["oldObject"] = dict(old_object)
    if user_info:
        value["userInfo"] = dict(user_info)
    if dry_run is not None:
        value["dryRun"] = dry_run
    if uid:
        value["uid"] = uid
    return Review(value)


def admission_review(request: Mapping[str, Any]) -> Review:
    """The review of an AdmissionReview's `request`: the request itself, as Gatekeeper passes it.

    On DELETE the API server sends only `oldObject`; Gatekeeper copies it to
    `object` so templates see the object being deleted.
    """
    value = dict(request)
    obj = value.get("object")
    old = value.get("oldObject")
    if str(value.get("operation") or "").upper() == "DELETE" and not obj and isinstance(old, dict):
        value["object"] = old
        obj = old
    source = obj if isinstance(obj, dict) and obj else old if isinstance(old, dict) else {}
    if not isinstance(value.get("kind"), dict):
        value["kind"] = group_version_kind(source)
    if not value.get("name") and _metadata(source).get("name"):
        value["name"] = str(_metadata(source)["name"])
    return Review(value)


def inventory_path(obj: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Where Gatekeeper's sync puts `obj` under `data.inventory`, or None without apiVersion/kind/name."""
    meta = _metadata(obj)
    api_version, kind, name = obj.get("apiVersion"), obj.get("kind"), meta.get("name")
    if not api_version or not kind or not name:
        return None
    namespace = meta.get("namespace")
    if namespace:
        return ("namespace", str(namespace), str(api_version), str(kind), str(name))
    return ("cluster", str(api_version), str(kind), str(name))


def build_inventory(objects: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """`data.inventory` for these objects (later objects with the same identity win)."""
    inventory: dict[str, Any] = {}
    for obj in objects:
        path = inventory_path(obj)
        if path is None:
            continue
        node = inventory
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = obj
    return inventory


def namespace_labels(inventory: Mapping[str, Any], namespace: str) -> Mapping[str, str] | None:
    """Labels of the synced Namespace `namespace`, or None when it is not in the inventory."""
    ns = (((inventory.get("cluster") or {}).get("v1") or {}).get("Namespace") or {}).get(namespace)
    if not isinstance(ns, dict):
        return None
    labels = _metadata(ns).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
