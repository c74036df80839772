"""Find every container image a Kubernetes document would run, and where it is written.

Pod specs live at different paths per kind: `spec` for a Pod,
`spec.template.spec` for the controllers, `spec.jobTemplate.spec.template.spec`
for a CronJob. Any other kind with a `spec.template.spec.containers` list
(Argo Rollouts, custom controllers) is treated like a controller, so an image
is never missed because its kind is new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from scanner.inputs.document import Document, JsonPath, format_json_path

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

POD_SPEC_PATHS: dict[str, JsonPath] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class ImageUse:
    """One `image:` field: the text, the document and the path to it."""

    image: str
    document: Document
    path: JsonPath
    container: str | None

    @property
    def json_path(self) -> str:
        return format_json_path(self.path)

    @property
    def line(self) -> int:
        return self.document.line_for(self.path)


def _get(obj: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or part >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[part] if isinstance(part, int) else obj.get(part)
    return obj


def pod_spec_path(document: Document) -> JsonPath | None:
    """Where this document keeps its pod spec, or None when it has none."""
    if not document.is_resource:
        return None
    path = POD_SPEC_PATHS.get(document.kind or "")
    if path is None and isinstance(_get(document.obj, ("spec", "template", "spec", "containers")), list):
        path = ("spec", "template", "spec")
    if path is None or not isinstance(_get(document.obj, path), dict):
        return None
    return path


def image_uses(document: Document) -> Iterator[ImageUse]:
    """Every container image in `document`, in container order."""
    base = pod_spec_path(document)
    if base is None:
        return
    spec = _get(document.obj, base)
    for list_name in CONTAINER_LISTS:
        containers = spec.get(list_name)
        if not isinstance(containers, list):
            continue
        for index, container in enumerate(containers):
            if not isinstance(container, dict) or "image" not in container:
                continue
            image = container.get("image")
            name = container.get("name")
            yield ImageUse(
                image=str(image) if image is not None else "",
                document=document,
                path=(*base, list_name, index, "image"),
                container=str(name) if name is not None else None,
            )
