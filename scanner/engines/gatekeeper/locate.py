"""Where in the object a Gatekeeper violation points, from its message and details.

Gatekeeper violations carry a message and free-form `details`, not a field
path. Most library templates name the container (`Privileged container is
not allowed: nginx, ...`) and the field (`securityContext`, `image`,
`hostNetwork`) or quote its value (`busybox:latest`), so the finding can
point at that line instead of the top of the document: find the container
whose name the message mentions, then step down into fields whose names the
message mentions or whose text values it quotes. `details` keys that name
labels or annotations point at `metadata.labels` / `metadata.annotations`.
When nothing can be found the finding points at the document itself.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

JsonPath = tuple[str | int, ...]

_POD_SPECS: tuple[JsonPath, ...] = (
    ("spec",),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_MAX_DEPTH = 4


def _get(obj: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or part >= len(obj):
                return None
        elif not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _mentions(message: str, word: str) -> bool:
    return bool(word) and re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", message, re.IGNORECASE) is not None


def _quotes_value(message: str, value: Any) -> bool:
    """The message quotes this field's text value (an image, a host): at least 3 characters, not a number."""
    return isinstance(value, str) and len(value) >= 3 and not value.isdigit() and _mentions(message, value)


def _descend(obj: Any, path: JsonPath, message: str) -> JsonPath:
    """Step into child keys the message names (longest name first), or whose value it quotes, as far as they go."""
    for _ in range(_MAX_DEPTH):
        node = _get(obj, path)
        if not isinstance(node, dict):
            break
        keys = [k for k in node if isinstance(k, str)]
        named = sorted((k for k in keys if _mentions(message, k)), key=len, reverse=True)
        quoted = [k for k in keys if k != "name" and _quotes_value(message, node[k])]
        if not named and not quoted:
            break
        path = (*path, (named or quoted)[0])
    return path


def _container(obj: Mapping[str, Any], message: str) -> JsonPath | None:
    for spec_path in _POD_SPECS:
        spec = _get(obj, spec_path)
        if not isinstance(spec, dict):
            continue
        for list_name in _CONTAINER_LISTS:
            containers = spec.get(list_name)
            if not isinstance(containers, list):
                continue
            for index, container in enumerate(containers):
                name = container.get("name") if isinstance(container, dict) else None
                if isinstance(name, str) and _mentions(message, name):
                    return (*spec_path, list_name, index)
    return None


def locate(obj: Any, message: str, details: Any = None) -> JsonPath | None:
    """The JSON path of the offending field, or None when the message does not say."""
    if not isinstance(obj, dict):
        return None
    if isinstance(details, dict):
        for key in details:
            for field in ("labels", "annotations"):
                if field in str(key).lower() and _get(obj, ("metadata", field)) is not None:
                    return ("metadata", field)
    container = _container(obj, message)
    if container is not None:
        return _descend(obj, container, message)
    for spec_path in _POD_SPECS:
        if isinstance(_get(obj, spec_path), dict):
            path = _descend(obj, spec_path, message)
            if path != spec_path:
                return path
    path = _descend(obj, (), message)
    return path or None
