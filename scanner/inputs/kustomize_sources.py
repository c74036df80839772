"""Which overlay or component file set a rendered field: patches, images, names, replicas.

A pull request that changes only an overlay must get its annotation on the
overlay's diff, not on the base line that still shows the old value. For
every kustomization reachable from the rendered directory (bases first, then
components, then the directory itself, so the last writer wins) this reads
what it changes and records, per rendered resource, the file and line that
set each field (`Document.field_sources`):

- strategic merge patches (`patches:` files or inline, `patchesStrategicMerge:`):
  every field the patch writes, list items matched by `name` as Kubernetes
  merges containers, env and volumes;
- JSON 6902 patches (`patches:` with a list of operations, `patchesJson6902:`):
  the `path` of each add/replace/copy/move operation;
- `images:` entries: the `image` of every container whose image they rewrote;
- `namePrefix`/`nameSuffix`: `metadata.name`; `replicas:` entries: `spec.replicas`.

Reading is best effort: a file it cannot read leaves the base location in place
(kustomize itself already accepted the inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from scanner.inputs.document import Document, JsonPath
from scanner.inputs.limits import read_text_capped
from scanner.inputs.problems import InputProblemError
from scanner.inputs.yamlpos import load_yaml_documents

MERGE_KEYS = ("name", "containerPort", "mountPath", "devicePath", "ip", "topologyKey")
POD_SPEC_PATHS: tuple[JsonPath, ...] = (
    ("spec",),
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)
CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class Target:
    """Which rendered resources a change applies to (None matches any)."""

    kind: str | None = None
    name: str | None = None

    def matches(self, document: Document) -> bool:
        if self.kind and document.kind != self.kind:
            return False
        return not self.name or (document.name is not None and self.name in document.name)


@dataclass(frozen=True)
class FieldChange:
    """One field a kustomization file sets on the resources it targets."""

    target: Target
    path: JsonPath  # may hold `{"name": x}` dict steps for merge-key list items, or -1 for the last item
    file: str
    line: int


class OverlaySources:
    """Changes made by the kustomizations reachable from one rendered directory."""

    def __init__(self, directory: Path, show: Callable[[Path], str], max_bytes: int) -> None:
        self.show = show
        self.max_bytes = max_bytes
        self.changes: list[FieldChange] = []
        self._visited: set[Path] = set()
        self._read_kustomization(directory.resolve())

    # -- applying ------------------------------------------------------------------

    def apply(self, documents: Iterable[Document]) -> None:
        """Record on each rendered document the file and line of every field a kustomization set."""
        for document in documents:
            for change in self.changes:
                if not change.target.matches(document):
                    continue
                if change.path and change.path[0] == "<image>":
                    paths = image_paths(document, str(change.path[1]))
                else:
                    resolved = _resolve(document.obj, change.path)
                    paths = [resolved] if resolved is not None else []
                for path in paths:
                    document.field_sources[path] = (change.file, change.line)

    # -- reading -------------------------------------------------------------------

    def _read_kustomization(self, directory: Path) -> None:
        if directory in self._visited:
            return
        self._visited.add(directory)
        from scanner.inputs.kustomize import kustomization_file

        file = kustomization_file(directory)
        loaded = self._load(file) if file is not None else []
        document = loaded[0] if loaded else None
        if file is None or document is None or not isinstance(document.obj, dict):
            return
        spec = document.obj
        for key in ("resources", "bases", "components"):
            for entry in _strings(spec.get(key)):
                if "://" not in entry and not entry.startswith(("github.com", "git@")):
                    target = (directory / entry).resolve()
                    if target.is_dir():
                        self._read_kustomization(target)
        shown = self.show(file)
        self._patches(directory, spec, document, shown)
        self._images(spec, document, shown)
        self._names(spec, document, shown)
        for i, entry in enumerate(spec.get("replicas") or []):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                line = document.line_for(("replicas", i, "count"))
                self.changes.append(FieldChange(Target(None, entry["name"]), ("spec", "replicas"), shown, line))

    def _patches(self, directory: Path, spec: dict[str, Any], document: Document, shown: str) -> None:
        for i, entry in enumerate(spec.get("patches") or []):
            if not isinstance(entry, dict):
                continue
            target = _target(entry.get("target"))
            if isinstance(entry.get("path"), str):
                self._patch_file(directory / entry["path"], target)
            elif isinstance(entry.get("patch"), str):
                offset = document.line_for(("patches", i, "patch"))
                self._patch_text(entry["patch"], shown, offset, target)
        for i, entry in enumerate(spec.get("patchesStrategicMerge") or []):
            if isinstance(entry, str) and "\n" not in entry and (directory / entry).is_file():
                self._patch_file(directory / entry, None)
            elif isinstance(entry, str):
                self._patch_text(entry, shown, document.line_for(("patchesStrategicMerge", i)), None)
        for entry in spec.get("patchesJson6902") or []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                self._patch_file(directory / entry["path"], _target(entry.get("target")))

    def _patch_file(self, path: Path, target: Target | None) -> None:
        for patch in self._load(path):
            self._add_patch(patch, target)

    def _patch_text(self, text: str, shown: str, offset: int, target: Target | None) -> None:
        try:
            patches = load_yaml_documents(text, shown)
        except InputProblemError:
            return
        for patch in patches:  # the block scalar starts on the line after `patch: |`
            patch.line_map = {path: offset + line for path, line in patch.line_map.items()}
            self._add_patch(patch, target)

    def _add_patch(self, patch: Document, target: Target | None) -> None:
        if isinstance(patch.obj, list):  # JSON 6902 operations
            for i, operation in enumerate(patch.obj):
                if isinstance(operation, dict) and operation.get("op") in ("add", "replace", "copy", "move"):
                    path = _pointer(operation.get("path"))
                    if path is not None and target is not None:
                        self.changes.append(FieldChange(target, path, patch.path, patch.line_for((i, "path"))))
            return
        if not isinstance(patch.obj, dict):
            return
        own = Target(patch.kind, patch.name)
        chosen = target or own
        for path, line in _leaves(patch.obj, (), patch):
            if path in (("apiVersion",), ("kind",), ("metadata", "name")):
                continue
            self.changes.append(FieldChange(chosen, path, patch.path, line))

    def _images(self, spec: dict[str, Any], document: Document, shown: str) -> None:
        for i, entry in enumerate(spec.get("images") or []):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            field = next((f for f in ("digest", "newTag", "newName") if f in entry), None)
            line = document.line_for(("images", i, field) if field else ("images", i))
            new_name = entry.get("newName") or entry["name"]
            self.changes.append(FieldChange(Target(), ("<image>", str(new_name)), shown, line))

    def _names(self, spec: dict[str, Any], document: Document, shown: str) -> None:
        for key in ("namePrefix", "nameSuffix"):
            if isinstance(spec.get(key), str) and spec[key]:
                self.changes.append(FieldChange(Target(), ("<affix>", key, spec[key]), shown, document.line_for((key,))))

    def _load(self, path: Path) -> list[Document]:
        try:
            return load_yaml_documents(read_text_capped(path, str(path), self.max_bytes), self.show(path))
        except (InputProblemError, OSError):
            return []


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _target(value: Any) -> Target | None:
    if not isinstance(value, dict):
        return None
    return Target(value.get("kind") if isinstance(value.get("kind"), str) else None,
                  value.get("name") if isinstance(value.get("name"), str) else None)


def _pointer(value: Any) -> JsonPath | None:
    if not isinstance(value, str) or not value.startswith("/"):
        return None
    parts: list[str | int] = []
    for raw in value.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else (-1 if part == "-" else part))
    return tuple(parts)


def _leaves(value: Any, path: tuple[Any, ...], patch: Document) -> list[tuple[tuple[Any, ...], int]]:
    """Every field a strategic merge patch writes, with merge-key steps for named list items."""
    out: list[tuple[tuple[Any, ...], int]] = []
    if isinstance(value, dict) and value:
        for key, child in value.items():
            out.extend(_leaves(child, (*path, key), patch))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            key = next((k for k in MERGE_KEYS if k in item), None)
            step: Any = {key: item[key]} if key else index
            for child_path, line in _leaves(item, (*path, index), patch):
                out.append(((*path, step, *child_path[len(path) + 1:]), line))
        return out
    out.append((path, patch.line_for(path)))
    return out


def _resolve(obj: Any, path: JsonPath | tuple[Any, ...]) -> JsonPath | None:
    """A change's path in one rendered object (merge keys and `-` resolved), or None when absent."""
    if path and path[0] == "<affix>":
        return ("metadata", "name")
    resolved: list[str | int] = []
    current = obj
    for step in path:
        if isinstance(step, dict):
            if not isinstance(current, list):
                return None
            [(key, wanted)] = step.items()
            index = next((i for i, item in enumerate(current) if isinstance(item, dict) and item.get(key) == wanted), None)
            if index is None:
                return None
            resolved.append(index)
            current = current[index]
        elif isinstance(step, int):
            if not isinstance(current, list) or not current:
                return None
            index = len(current) - 1 if step == -1 else step
            if index >= len(current):
                return None
            resolved.append(index)
            current = current[index]
        else:
            if not isinstance(current, dict) or step not in current:
                return None
            resolved.append(step)
            current = current[step]
    return tuple(resolved)


def image_paths(document: Document, image_name: str) -> list[JsonPath]:
    """Paths of container `image` fields in `document` that use `image_name`."""
    found: list[JsonPath] = []
    for pod in POD_SPEC_PATHS:
        spec: Any = document.obj
        for step in pod:
            spec = spec.get(step) if isinstance(spec, dict) else None
        if not isinstance(spec, dict):
            continue
        for field in CONTAINER_FIELDS:
            for i, container in enumerate(spec.get(field) or []):
                image = container.get("image") if isinstance(container, dict) else None
                if isinstance(image, str) and _image_repository(image) == image_name:
                    found.append((*pod, field, i, "image"))
    return found


def _image_repository(image: str) -> str:
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name
