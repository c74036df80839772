"""The `images` variable: every container image split into its parts.

Kyverno exposes `images.containers.<name>.registry|path|name|tag|digest`
(and `initContainers`, `ephemeralContainers`) for pods and pod controllers.
"""

from __future__ import annotations

import re
from typing import Any

_DEFAULT_REGISTRY = "docker.io"
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


def parse_image(image: str) -> dict[str, Any] | None:
    """Split an image reference; None when it is not one."""
    if not isinstance(image, str) or not image or image != image.strip():
        return None
    ref = image
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not _DIGEST.match(digest):
            return None
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, remainder = first, rest
    else:
        registry, remainder = _DEFAULT_REGISTRY, ref
    tag = ""
    if ":" in remainder.rsplit("/", 1)[-1]:
        remainder, tag = remainder.rsplit(":", 1)
    if not remainder or remainder != remainder.lower():
        return None
    path = remainder  # Kyverno keeps `nginx` as the path (no `library/` prefix)
    if not tag and not digest:
        tag = "latest"
    name = path.rsplit("/", 1)[-1]
    reference = f"{registry}/{path}"
    if tag:
        reference += f":{tag}"
    if digest:
        reference += f"@{digest}"
    return {
        "registry": registry,
        "path": path,
        "name": name,
        "tag": tag,
        "digest": digest,
        "reference": reference,
        "referenceWithTag": f"{registry}/{path}:{tag}" if tag else f"{registry}/{path}",
    }


_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def extract_images(resource: Any) -> dict[str, Any]:
    """`images` for a resource with a pod spec, else an empty map."""
    if not isinstance(resource, dict):
        return {}
    kind = resource.get("kind")
    path = _POD_SPEC_PATHS.get(kind if isinstance(kind, str) else "", ("spec", "template", "spec"))
    spec: Any = resource
    for part in path:
        spec = spec.get(part) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return {}
    out: dict[str, Any] = {}
    for field in ("initContainers", "containers", "ephemeralContainers"):
        containers = spec.get(field)
        if not isinstance(containers, list):
            continue
        group: dict[str, Any] = {}
        for container in containers:
            if not isinstance(container, dict):
                continue
            info = parse_image(container.get("image", ""))
            if info is not None and isinstance(container.get("name"), str):
                group[container["name"]] = info
        if group:
            out[field] = group
    return out
