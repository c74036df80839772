"""The `Document`: one parsed YAML/JSON object with its file, lines and origin.

Every engine reads documents and every finding points back into one, so the
line map lives here: `line_map` maps a JSON path (a tuple of keys and list
indices) to the 1-based line where that key or item starts in `path`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

JsonPath = tuple[str | int, ...]

_SEGMENT = re.compile(r"""\[(\d+)\]|\[["']([^"']*)["']\]|\.?([^.\[\]]+)""")


def format_json_path(path: Iterable[str | int]) -> str:
    """`("spec", "containers", 0, "image")` -> `spec.containers[0].image`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def parse_json_path(text: str | Iterable[str | int]) -> JsonPath:
    """Inverse of `format_json_path`; lists and tuples pass through.

    Accepts `a.b[0].c`, `a.b.0.c`, `/a/b/0/c` (JSON pointer) and
    `a["x.y"]`, so policies may name a field whichever way is natural.
    Purely numeric segments become list indices.
    """
    if not isinstance(text, str):
        return tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in text)
    if text.startswith("/"):
        raw = [p.replace("~1", "/").replace("~0", "~") for p in text.split("/")[1:]]
        return tuple(int(p) if p.isdigit() else p for p in raw)
    parts: list[str | int] = []
    for index, quoted, bare in _SEGMENT.findall(text.strip()):
        if index:
            parts.append(int(index))
        elif quoted:
            parts.append(quoted)
        elif bare:
            parts.append(int(bare) if bare.isdigit() else bare)
    return tuple(parts)


@dataclass
class Document:
    """One YAML/JSON document and where it came from.

    `path` is the file a person should open to fix the finding: the manifest
    itself, or for rendered Helm output the chart template named by
    `# Source:`. `rendered_from` names the chart or overlay directory when the
    document was rendered, and `scope` the environment it was rendered for.
    """

    obj: Any
    path: str
    start_line: int = 1
    end_line: int = 1
    index: int = 0  # position of the document within its file or render
    line_map: dict[JsonPath, int] = field(default_factory=dict)
    origin: str = "manifest"  # manifest | helm | kustomize | json
    rendered_from: str | None = None
    scope: str | None = None
    # Secret value paths (`("data", key)`) a render generated, found nowhere in the repository
    generated_values: frozenset[JsonPath] = frozenset()
    # the name findings are identified by when a render randomises it (`web-test-*`), else None
    identity_name: str | None = None
    # fields set by another file than `path` (a Kustomize overlay patch, `images:`...): path -> (file, line)
    field_sources: dict[JsonPath, tuple[str, int]] = field(default_factory=dict)
    # Helm fields no template line writes (spliced from values or a helper): path -> values files of the render
    values_origin: dict[JsonPath, tuple[str, ...]] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return self.obj.get("kind") if isinstance(self.obj, dict) else None

    @property
    def api_version(self) -> str | None:
        return self.obj.get("apiVersion") if isinstance(self.obj, dict) else None

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.get("metadata") if isinstance(self.obj, dict) else None
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str | None:
        name = self.metadata.get("name")
        return str(name) if name is not None else None

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns is not None else None

    @property
    def is_resource(self) -> bool:
        """True for a Kubernetes-shaped object (has apiVersion and kind)."""
        return isinstance(self.obj, dict) and bool(self.kind) and bool(self.api_version)

    def source_for(self, json_path: Iterable[str | int] | str | None) -> tuple[str, int]:
        """File and line of a field: the file that set it (`field_sources`) or this document's.

        The deepest known prefix wins; at equal depth the file that set the
        field wins over the file that first defined it.
        """
        if json_path is None or not self.field_sources:
            return self.path, self.line_for(json_path)
        parts = parse_json_path(json_path)
        for end in range(len(parts), 0, -1):
            source = self.field_sources.get(parts[:end])
            if source is not None:
                return source
            if parts[:end] in self.line_map:
                return self.path, self.line_map[parts[:end]]
        return self.path, self.start_line

    def line_for(self, json_path: Iterable[str | int] | str | None) -> int:
        """Line of the deepest existing prefix of `json_path`, else the doc start.

        A policy that names a field which is absent (say a missing
        `securityContext`) still gets the closest enclosing line.
        """
        if json_path is None:
            return self.start_line
        parts = parse_json_path(json_path)
        for end in range(len(parts), 0, -1):
            line = self.line_map.get(parts[:end])
            if line is not None:
                return line
        return self.start_line
