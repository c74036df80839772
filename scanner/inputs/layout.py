"""What a path is: a Helm chart, a Kustomize target, or plain manifests.

The walk turns targets into a `Plan`: charts and kustomizations to render,
manifest files to parse, and everything deliberately left out with a reason.
The rules (also in docs/inputs.md):

- A directory with `Chart.yaml` is a Helm chart; nothing inside it is read
  as a manifest (templates, values, subcharts are chart internals).
- A directory with `kustomization.yaml|yml|Kustomization`, or with a `base/`
  or `overlays/<name>/` holding one, is a Kustomize app: with an environment
  its `overlays/<env>/` is rendered if present, else the directory itself,
  else `base/`; an app with only overlays and no environment renders every
  overlay (scope = overlay name).
- `environments/<env>/`: with an environment selected only that folder is
  scanned; without one every environment is, with scope = the folder name.
  Helm values files there (`values*.yaml`, `*.values.yaml`, `<chart>.yaml`,
  `<chart>/values.yaml`) are consumed when rendering charts, not scanned.
- `.jsonnet` files are rendered (Argo CD's directory source does); `.libsonnet`
  files are only imported.
- Other `.yaml`, `.yml` and `.json` files are plain manifests. Hidden files
  and folders, `node_modules`, and symlinks that leave the scanned root are
  skipped (the latter reported); symlink loops are detected, not followed.
- A file target is always plain manifests; `mode` forces what a directory
  target is (`manifests` reads every YAML/JSON file under it as is).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from scanner.errors import ConfigError
from scanner.inputs.kustomize import kustomization_file
from scanner.inputs.problems import InputProblem

MODES = ("auto", "manifests", "helm", "kustomize")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
JSONNET_SUFFIX = ".jsonnet"
SKIPPED_DIR_NAMES = {"node_modules", "__pycache__"}
ENVIRONMENTS_DIR = "environments"
_VALUES_NAME = re.compile(r"^(values([-_.].*)?|.*[-_.]values)\.ya?ml$")


@dataclass(frozen=True)
class ManifestFile:
    path: Path
    scope: str | None = None


@dataclass(frozen=True)
class JsonnetFile:
    """A `.jsonnet` file, rendered as Argo CD's directory source renders it."""

    path: Path
    scope: str | None = None


@dataclass(frozen=True)
class ChartDir:
    path: Path


@dataclass(frozen=True)
class KustomizeDir:
    app_dir: Path
    render_dir: Path
    environment: str | None


PlanItem = ManifestFile | JsonnetFile | ChartDir | KustomizeDir


@dataclass
class Plan:
    items: list[PlanItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    withheld: list[tuple[str, str]] = field(default_factory=list)  # not read for safety; reported as notices
    problems: list[InputProblem] = field(default_factory=list)


def is_chart(directory: Path) -> bool:
    return (directory / "Chart.yaml").is_file()


def is_kustomize_app(directory: Path) -> bool:
    if kustomization_file(directory) or kustomization_file(directory / "base"):
        return True
    overlays = directory / "overlays"
    return overlays.is_dir() and any(kustomization_file(o) for o in _subdirs(overlays))


def kustomize_render_dirs(app_dir: Path, environment: str | None) -> list[tuple[Path, str | None]]:
    """Which directories of a Kustomize app to render, with their scope."""
    if environment:
        overlay = app_dir / "overlays" / environment
        if kustomization_file(overlay):
            return [(overlay, environment)]
    if kustomization_file(app_dir):
        return [(app_dir, None)]
    if kustomization_file(app_dir / "base"):
        return [(app_dir / "base", None)]
    overlays = [o for o in _subdirs(app_dir / "overlays") if kustomization_file(o)]
    return [(o, o.name) for o in overlays]


def is_values_file(path: Path, chart_names: set[str]) -> bool:
    """A Helm values file inside `environments/<env>/` (see module docstring)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    if _VALUES_NAME.match(path.name):
        return True
    return path.stem in chart_names or path.parent.name in chart_names


def _subdirs(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def misplaced_target(path: Path) -> tuple[str, str] | None:
    """(message, hint) when a file given as a target is part of a chart, not a manifest.

    A chart template is not YAML until Helm renders it (its `{{ }}` make the
    parser say "complex mapping key"), and a values file is not a manifest.
    Both are common first tries; both deserve a hint instead of a parse error.
    """
    chart = next((p for p in list(path.parents)[:4] if (p / "Chart.yaml").is_file()), None)
    if chart is not None and "templates" in path.relative_to(chart).parts:
        return (
            f"a template of the Helm chart {chart.name}, not a manifest (Helm renders it)",
            f"point at the chart directory instead: cdgate check {chart}",
        )
    if _VALUES_NAME.match(path.name) and (chart is not None or ENVIRONMENTS_DIR in path.parts) and not _has_kind(path):
        where = f"the chart directory ({chart})" if chart is not None else "the chart directory"
        return (
            "a Helm values file, not a manifest",
            f"point at {where} and pass this file with --values "
            "(environments/<env>/values.yaml is picked up by --env)",
        )
    return None


def _has_kind(path: Path) -> bool:
    """True when the file's start has a top-level `kind:`: a manifest, whatever its name."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return re.search(r"^kind:\s*\S", head, flags=re.MULTILINE) is not None


class LayoutWalker:
    """Walks targets into a `Plan`; one per `load_targets` call."""

    def __init__(self, root: Path, environment: str | None, mode: str, show: Callable[[Path], str]) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown input mode {mode!r}", hint=f"use one of: {', '.join(MODES)}")
        self.root = root
        self.root_real = root.resolve()
        self.environment = environment
        self.mode = mode
        self.show = show
        self.plan = Plan()
        self._seen_dirs: set[Path] = set()
        self._seen_files: set[Path] = set()
        self._chart_names: dict[Path, set[str]] = {}

    # -- targets ------------------------------------------------------------------

    def add_target(self, target: Path) -> None:
        boundary = self._boundary_for(target)
        if not os.path.lexists(target):
            self.plan.problems.append(
                InputProblem(self.show(target), None, None, "path does not exist", "check the path given to cdgate", "io")
            )
            return
        real = self._follow(target, boundary)
        if real is None:
            return
        if real.is_file():
            misplaced = misplaced_target(real)
            if misplaced is not None:
                message, hint = misplaced
                self.plan.problems.append(InputProblem(self.show(target), None, None, message, hint, "target"))
                return
            self._add_file(target, real, scope=self._scope_of(target))
            return
        if not real.is_dir():  # a device or a FIFO: reading it would hang or yield nothing
            self.plan.problems.append(
                InputProblem(self.show(target), None, None, "not a regular file or directory; it was not read",
                             "point cdgate at YAML or JSON files or folders; pipes and devices are not read", "io")
            )
            return
        if self.mode == "helm":
            if is_chart(real):
                self.plan.items.append(ChartDir(target))
            else:
                self._not_a(target, "Helm chart (no Chart.yaml)")
            return
        if self.mode == "kustomize":
            if is_kustomize_app(real):
                self._add_kustomize(target)
            else:
                self._not_a(target, "Kustomize directory (no kustomization.yaml)")
            return
        if self.mode == "auto" and real.name == ENVIRONMENTS_DIR and not is_kustomize_app(real):
            self._walk_environments(target, boundary)
            return
        self._walk(target, boundary, scope=self._scope_of(target))

    def _not_a(self, target: Path, what: str) -> None:
        self.plan.problems.append(
            InputProblem(self.show(target), None, None, f"not a {what}", "drop --mode or point at the right directory", "io")
        )

    def _boundary_for(self, target: Path) -> Path:
        absolute = Path(os.path.normpath(target.absolute()))
        if absolute == self.root or self.root in absolute.parents:
            return self.root_real
        return absolute.resolve() if absolute.is_dir() else absolute.parent.resolve()

    def _scope_of(self, path: Path) -> str | None:
        """`environments/<env>/...` paths are scoped to that environment."""
        parts = Path(os.path.normpath(path.absolute())).parts
        for i, part in enumerate(parts[:-1]):
            if part == ENVIRONMENTS_DIR:
                return parts[i + 1]
        return None

    # -- walking ------------------------------------------------------------------

    def _follow(self, path: Path, boundary: Path) -> Path | None:
        """The real path to read, or None (and a skip entry) for unsafe symlinks."""
        if not path.is_symlink():
            return path.resolve() if path.exists() else None
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            self.plan.withheld.append((self.show(path), "broken or looping symlink (not followed)"))
            return None
        if real != boundary and boundary not in real.parents:
            self.plan.withheld.append((self.show(path), "symlink leads outside the scanned root; not followed"))
            return None
        return real

    def _walk(self, directory: Path, boundary: Path, scope: str | None) -> None:
        real = directory.resolve()
        if real in self._seen_dirs:
            self.plan.skipped.append((self.show(directory), "directory already scanned (symlink loop or duplicate)"))
            return
        self._seen_dirs.add(real)
        if self.mode == "auto":
            if is_chart(real):
                self.plan.items.append(ChartDir(directory))
                return
            if is_kustomize_app(real):
                self._add_kustomize(directory, scope)
                return
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            self.plan.problems.append(
                InputProblem(self.show(directory), None, None, f"cannot list directory: {exc.strerror}",
                             "check permissions", "io")
            )
            return
        for entry in entries:
            path = directory / entry.name
            if entry.name.startswith("."):
                continue
            if entry.name in SKIPPED_DIR_NAMES:
                self.plan.withheld.append((self.show(path), "dependency or cache folder; not scanned"))
                continue
            target = self._follow(path, boundary)
            if target is None:
                continue
            if target.is_dir():
                if self.mode == "auto" and entry.name == ENVIRONMENTS_DIR:
                    self._walk_environments(path, boundary)
                else:
                    self._walk(path, boundary, scope)
            elif path.suffix.lower() == JSONNET_SUFFIX and self.mode == "auto":
                self._add_file(path, target, scope)
            elif path.suffix.lower() in MANIFEST_SUFFIXES:
                if self.mode == "auto" and scope and is_values_file(path, self._chart_names_near(path)):
                    self.plan.skipped.append((self.show(path), f"Helm values for environment {scope}"))
                    continue
                self._add_file(path, target, scope)

    def _walk_environments(self, environments: Path, boundary: Path) -> None:
        names = sorted(p.name for p in environments.iterdir() if p.is_dir() and not p.name.startswith("."))
        if self.environment and self.environment not in names:
            self.plan.problems.append(
                InputProblem(
                    self.show(environments), None, None,
                    f"environment {self.environment!r} has no folder here (found: {', '.join(names) or 'none'})",
                    "check --env; an environment without its folder would be checked without its "
                    "manifests and values",
                    "io",
                )
            )
        for env_dir in sorted(environments.iterdir()):
            if env_dir.name.startswith("."):
                continue
            real = self._follow(env_dir, boundary)
            if real is None:
                continue
            if not real.is_dir():
                if env_dir.suffix.lower() in MANIFEST_SUFFIXES:
                    self._add_file(env_dir, real, None)
                continue
            if self.environment and env_dir.name != self.environment:
                self.plan.skipped.append((self.show(env_dir), f"environment {env_dir.name} not selected"))
                continue
            self._walk(env_dir, boundary, scope=env_dir.name)

    def _add_file(self, path: Path, real: Path, scope: str | None) -> None:
        if real in self._seen_files:
            self.plan.skipped.append((self.show(path), "same file already loaded through another path"))
            return
        self._seen_files.add(real)
        if path.suffix.lower() == JSONNET_SUFFIX:
            self.plan.items.append(JsonnetFile(path, scope))
        else:
            self.plan.items.append(ManifestFile(path, scope))

    def _add_kustomize(self, app_dir: Path, scope: str | None = None) -> None:
        for render_dir, overlay_scope in kustomize_render_dirs(app_dir.resolve(), self.environment):
            relative = render_dir.relative_to(app_dir.resolve())
            self.plan.items.append(KustomizeDir(app_dir, app_dir / relative, overlay_scope or scope))

    def _chart_names_near(self, path: Path) -> set[str]:
        """Chart directory names of the CD repo holding this `environments/` folder."""
        parts = path.parts
        index = len(parts) - 1 - list(reversed(parts)).index(ENVIRONMENTS_DIR) if ENVIRONMENTS_DIR in parts else 0
        repo = Path(*parts[:index]) if index else self.root
        cached = self._chart_names.get(repo)
        if cached is None:
            cached = set()
            for folder, subdirs, files in os.walk(repo):
                subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in SKIPPED_DIR_NAMES
                              and d != ENVIRONMENTS_DIR]
                if "Chart.yaml" in files:
                    cached.add(Path(folder).name)
                    subdirs[:] = []
            self._chart_names[repo] = cached
        return cached
