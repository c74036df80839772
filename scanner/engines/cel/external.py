"""Data that Kyverno's cluster and network CEL libraries read, given offline.

`resource.Get/List`, `image.GetMetadata`, `globalContext.Get` and `http.*`
need a cluster or the network. cdgate evaluates offline, so their answers
come from a test file's `context` (or a file the profile names); a call with
no data is a CEL error naming what is missing, never a silent pass.

The data for the evaluation in progress is bound to the current thread with
`bound(data)`, because the CEL functions are registered once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from scanner.engines.cel.values import CelValueError
from scanner.engines.cel.values import as_map


@dataclass
class ExternalData:
    """Cluster objects, image metadata and global context entries for offline evaluation."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)  # image reference -> metadata
    global_context: dict[str, GlobalEntry] = field(default_factory=dict)
    http_responses: list[dict[str, Any]] = field(default_factory=list)  # {method, url, response}

    def add_test_mocks(self, spec: dict[str, Any], read_resources: Any) -> None:
        """A Test file's `apiCallResponses` and `globalContextEntries` (`read_resources(path)` reads files)."""
        self.http_responses.extend(r for r in spec.get("apiCallResponses") or [] if isinstance(r, dict))
        for entry in spec.get("globalContextEntries") or []:
            if not isinstance(entry, dict) or not entry.get("name"):
                continue
            if "data" in entry:
                value: Any = entry["data"]
            else:
                value = [r for r in entry.get("resources") or [] if isinstance(r, dict)]
                for path in entry.get("resourceFiles") or []:
                    value.extend(read_resources(str(path)))
            projections = {str(p.get("name")): str(p.get("path") or "") for p in entry.get("projections") or []
                           if isinstance(p, dict) and p.get("name")}
            self.global_context[str(entry["name"])] = GlobalEntry(value, projections)

    @classmethod
    def from_context_document(cls, doc: dict[str, Any]) -> ExternalData:
        """A `cli.kyverno.io/v1alpha1` `Context` document (its `spec`)."""
        spec = as_map(doc.get("spec"))
        resources = [r for r in spec.get("resources") or [] if isinstance(r, dict)]
        images: dict[str, dict[str, Any]] = {}
        for entry in spec.get("images") or []:
            if isinstance(entry, dict) and entry.get("image"):
                images[str(entry["image"])] = entry
        return cls(resources=resources, images=images)

    def get(self, api_version: str, resource: str, namespace: str, name: str) -> dict[str, Any]:
        for obj in self._of(api_version, resource, namespace):
            if str(as_map(obj.get("metadata")).get("name") or "") == name:
                return obj
        where = f"{namespace}/{name}" if namespace else name
        raise CelValueError(f"resource.Get: no {resource} {where!r} ({api_version}) in the test context or data file")

    def list_of(self, api_version: str, resource: str, namespace: str) -> dict[str, Any]:
        items = self._of(api_version, resource, namespace)
        return {"apiVersion": api_version, "kind": "List", "items": items}

    def _of(self, api_version: str, resource: str, namespace: str) -> list[dict[str, Any]]:
        if not self.resources:
            raise CelValueError(f"resource library: no cluster data for {resource} ({api_version}); "
                                "give it in the test file's context")
        wanted = resource.lower()
        out = []
        for obj in self.resources:
            kind = str(obj.get("kind") or "").lower()
            if wanted not in (kind, kind + "s", kind + "es", kind[:-1] + "ies" if kind.endswith("y") else kind):
                continue
            if str(obj.get("apiVersion") or "") != api_version:
                continue
            obj_ns = str((obj.get("metadata") or {}).get("namespace") or "")
            if namespace and obj_ns not in (namespace, ""):
                continue
            out.append(obj)
        return out

    def image_metadata(self, reference: str) -> dict[str, Any]:
        found = self.images.get(reference)
        if found is None:
            raise CelValueError(f"image.GetMetadata: no metadata for image {reference!r} in the test context; "
                                "cdgate does not contact registries from CEL")
        return found

    def global_entry(self, name: str, projection: str) -> Any:
        entry = self.global_context.get(name)
        if entry is None:
            raise CelValueError(f"globalContext.Get: no global context entry {name!r} given "
                                "(give it under globalContextEntries in the test file)")
        if projection:
            if projection not in entry.projections:
                raise CelValueError(f"globalContext.Get: entry {name!r} has no projection {projection!r}")
            return entry.project(projection)
        if entry.projections:
            base = dict(entry.value) if isinstance(entry.value, dict) else {}
            return {**base, **{p: entry.project(p) for p in entry.projections}}
        return entry.value

    def http_response(self, method: str, url: str) -> dict[str, Any]:
        for mock in self.http_responses:
            if str(mock.get("method") or "GET").upper() == method and str(mock.get("url") or "") == url:
                response = mock.get("response")
                return response if isinstance(response, dict) else {}
        raise CelValueError(f"http.{method.title()}: no response for {method} {url} given; cdgate makes no network "
                            "calls from policies (give it under apiCallResponses in the test file)")


@dataclass(frozen=True)
class GlobalEntry:
    """A global context entry: its data (or resources) and its named JMESPath projections."""

    value: Any
    projections: dict[str, str] = field(default_factory=dict)

    def project(self, name: str) -> Any:
        import jmespath

        return jmespath.search(self.projections[name], self.value) if self.projections[name] else self.value


_LOCAL = threading.local()
_EMPTY = ExternalData()


def current() -> ExternalData:
    """The data bound to this thread, or an empty set (every call then errors)."""
    data = getattr(_LOCAL, "data", None)
    return data if isinstance(data, ExternalData) else _EMPTY


@contextmanager
def bound(data: ExternalData | None) -> Iterator[None]:
    previous = getattr(_LOCAL, "data", None)
    _LOCAL.data = data
    try:
        yield
    finally:
        _LOCAL.data = previous
