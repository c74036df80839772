"""Where Argo CD puts what it deploys: destination namespaces from the repository's Applications.

A manifest without `metadata.namespace` lands in the namespace the Argo CD
Application deploying it names (`spec.destination.namespace`), not in
`default`, and a chart is rendered with that namespace as
`.Release.Namespace`. This reads the `Application`s in the scanned files and
the `ApplicationSet`s whose applications can be computed offline (list, git
directory and matrix generators; Go templates and the older `{{path}}`
form), and maps each application's source path to its namespace. An
application's path is relative to its Git repository's root, taken as the
closest folder above the Application's file in which the path exists.

When several applications deploy one path to different namespaces (one per
environment), a document rendered for an environment takes the one whose
generator parameters name that environment; otherwise the path has no single
destination and nothing is assigned.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from scanner.inputs.document import Document

ARGO_GROUP = "argoproj.io/"
#: Kinds that have no namespace; never given one.
CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "PriorityClass", "IngressClass", "RuntimeClass", "CSIDriver", "CSINode",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "APIService", "ClusterIssuer", "VolumeSnapshotClass",
    "ClusterPolicy", "ClusterRoleTemplate", "PodSecurityPolicy", "ComponentStatus", "CertificateSigningRequest",
}
_PLACEHOLDER = re.compile(r"\{\{\s*(?P<ref>[^{}|]+?)\s*\}\}")
MAX_GENERATED = 1000


@dataclass(frozen=True)
class Destination:
    """One application: the absolute source directory, its namespace, and its generator's values."""

    source: Path
    namespace: str
    recurse: bool = False
    parameters: frozenset[str] = frozenset()


@dataclass
class Destinations:
    """Every computable application of the scanned repository."""

    applications: list[Destination] = field(default_factory=list)

    def namespace_for(self, directory: Path, scope: str | None, *, file_dir: bool = False) -> str | None:
        """The destination namespace of what is rendered from `directory` (for `scope`), if one."""
        candidates = [
            app for app in self.applications
            if app.source == directory or (file_dir and app.recurse and app.source in directory.parents)
        ]
        namespaces = {app.namespace for app in candidates}
        if len(namespaces) > 1 and scope:
            namespaces = {app.namespace for app in candidates if scope in app.parameters}
        return next(iter(namespaces)) if len(namespaces) == 1 else None

    def assign(self, documents: Iterable[Document], resolve: Callable[[Document], Path | None],
               default_namespace: str | None) -> None:
        """Set `metadata.namespace` on namespaced resources that have none."""
        for document in documents:
            if not document.is_resource or document.namespace or document.kind in CLUSTER_SCOPED:
                continue
            source = resolve(document)
            namespace = None
            if source is not None:
                namespace = self.namespace_for(source, document.scope, file_dir=document.rendered_from is None)
            namespace = namespace or default_namespace
            if namespace and isinstance(document.obj, dict):
                metadata = document.obj.setdefault("metadata", {})
                if isinstance(metadata, dict):
                    metadata["namespace"] = namespace


def read_destinations(documents: Iterable[Document], root: Path) -> Destinations:
    """Applications and computable ApplicationSets among `documents` (already loaded files)."""
    destinations = Destinations()
    for document in documents:
        if not isinstance(document.obj, dict) or not str(document.api_version or "").startswith(ARGO_GROUP):
            continue
        file = (root / document.path).resolve()
        if document.kind == "Application":
            destinations.applications.extend(_application(document.obj.get("spec"), file, root, frozenset()))
        elif document.kind == "ApplicationSet":
            destinations.applications.extend(_application_set(document.obj.get("spec"), file, root))
    return destinations


def _application(spec: Any, file: Path, root: Path, parameters: frozenset[str]) -> list[Destination]:
    if not isinstance(spec, dict):
        return []
    destination: Any = spec.get("destination")
    namespace = destination.get("namespace") if isinstance(destination, dict) else None
    if not isinstance(namespace, str) or not namespace:
        return []
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    found = []
    for source in sources:
        path = source.get("path")
        if not isinstance(path, str):
            continue
        directory = _repository_path(file, root, path)
        if directory is not None:
            recurse = bool((source.get("directory") or {}).get("recurse")) if isinstance(source.get("directory"), dict) else False
            found.append(Destination(directory, namespace, recurse, parameters))
    return found


def _repository_path(file: Path, root: Path, path: str) -> Path | None:
    """`path` inside the closest folder above `file` (up to `root`) that has it."""
    relative = path.strip("/") or "."
    for base in file.parents:
        candidate = (base / relative).resolve()
        if candidate.is_dir() and (candidate == root or root in candidate.parents):
            return candidate
        if base == root or root not in base.parents:
            break
    return None


def _application_set(spec: Any, file: Path, root: Path) -> list[Destination]:
    if not isinstance(spec, dict) or not isinstance(spec.get("template"), dict):
        return []
    go = bool(spec.get("goTemplate"))
    found: list[Destination] = []
    for generator in spec.get("generators") or []:
        parameter_sets = _parameters(generator, file, root)
        if parameter_sets is None:
            continue
        for parameters in parameter_sets[:MAX_GENERATED]:
            template = _substitute(spec["template"], parameters, go)
            if template is not None:
                values = frozenset(str(v) for v in _flat(parameters).values())
                found.extend(_application(template.get("spec"), file, root, values))
    return found


def _parameters(generator: Any, file: Path, root: Path) -> list[dict[str, Any]] | None:
    """The parameter sets a generator yields, or None when it cannot be computed offline."""
    if not isinstance(generator, dict):
        return None
    if isinstance(generator.get("list"), dict):
        elements = generator["list"].get("elements")
        return [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else None
    if isinstance(generator.get("git"), dict) and isinstance(generator["git"].get("directories"), list):
        return _git_directories(generator["git"]["directories"], file, root)
    if isinstance(generator.get("matrix"), dict):
        children = [_parameters(g, file, root) for g in generator["matrix"].get("generators") or []]
        if len(children) != 2 or any(c is None for c in children):
            return None
        return [{**a, **b} for a, b in itertools.product(children[0] or [], children[1] or [])]
    return None


def _git_directories(entries: list[Any], file: Path, root: Path) -> list[dict[str, Any]] | None:
    base = next((b for b in file.parents if b == root or root in b.parents), None)
    if base is None:
        return None
    repository = _repository_base(entries, file, root)
    if repository is None:
        return []
    included: list[str] = []
    excluded: list[str] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            (excluded if entry.get("exclude") else included).append(entry["path"])
    found = []
    for folder, subdirs, _files in os.walk(repository):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        relative = Path(folder).relative_to(repository).as_posix()
        if relative == "." or not any(_path_match(relative, p) for p in included):
            continue
        if any(_path_match(relative, p) for p in excluded):
            continue
        name = Path(relative).name
        found.append({"path": {"path": relative, "basename": name,
                               "basenameNormalized": re.sub(r"[^a-z0-9-]", "-", name.lower()),
                               "segments": relative.split("/")}})
    return found


def _path_match(relative: str, pattern: str) -> bool:
    """Go's `path.Match`, as Argo CD uses it: `*` never crosses a `/`."""
    names, patterns = relative.split("/"), pattern.strip("/").split("/")
    return len(names) == len(patterns) and all(fnmatch.fnmatchcase(n, p) for n, p in zip(names, patterns))


def _repository_base(entries: list[Any], file: Path, root: Path) -> Path | None:
    """The folder the generator's globs are relative to: the closest above `file` where one matches."""
    patterns = [e["path"] for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str) and not e.get("exclude")]
    for base in file.parents:
        if any(list(base.glob(p)) for p in patterns):
            return base
        if base == root or root not in base.parents:
            break
    return None


def _flat(parameters: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in parameters.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _substitute(template: Any, parameters: dict[str, Any], go: bool) -> Any:
    """The template with every `{{ ... }}` replaced, or None when one cannot be."""
    flat = _flat(parameters)
    if not go and isinstance(parameters.get("path"), dict):
        flat["path"] = parameters["path"]["path"]  # the older syntax: {{path}} is the directory

    def text(value: str) -> str | None:
        missing = False

        def replace(match: re.Match[str]) -> str:
            nonlocal missing
            ref = match.group("ref").strip()
            key = ref[1:] if go and ref.startswith(".") else ref
            if key not in flat or isinstance(flat[key], (dict, list)):
                missing = True
                return ""
            return str(flat[key])

        result = _PLACEHOLDER.sub(replace, value)
        return None if missing else result

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value) if "{{" in value else value
        if isinstance(value, dict):
            out = {}
            for key, child in value.items():
                walked = walk(child)
                if walked is None and child is not None:
                    return None
                out[key] = walked
            return out
        if isinstance(value, list):
            items = [walk(child) for child in value]
            return None if any(i is None and c is not None for i, c in zip(items, value)) else items
        return value

    return walk(template)
