"""Which services and environments a change reaches (path-based).

The CD-repo layout (docs/inputs.md): `services/<svc>/` holds a chart or a
Kustomize app, `environments/<env>/` holds values (`values.yaml` shared by
every chart of the environment, `<svc>/values.yaml` for one) and plain
manifests, other top-level folders (`argocd/`) hold plain manifests. A change
is mapped to *units*, each rendered and evaluated on its own:

- `services/<svc>/...` -> that service in every environment;
- `environments/<env>/<svc>/...` -> that service in that environment;
- a shared values file `environments/<env>/values*.yaml` -> every service in
  that environment; another file there -> the environment's own manifests;
- gate.yaml or any policy, data or values file the profile names -> everything;
- documentation (`*.md`, `docs/`, `.github/`, licences) -> nothing;
- any file in a top-level folder (outside `services/`) that holds a chart or
  Kustomize app another unit may use (a library chart, a shared base) ->
  everything;
- other YAML or JSON -> its top-level folder (or the file) in every
  environment; other files -> nothing (nothing renders them).

When in doubt the scope grows: rendering too much costs time, too little
would let a change through unchecked.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

SERVICES_DIR = "services"
ENVIRONMENTS_DIR = "environments"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc", ".png", ".jpg", ".jpeg", ".gif", ".svg")
DOC_DIRS = ("docs", ".github", ".gitlab")
DOC_NAMES = ("LICENSE", "NOTICE", "CODEOWNERS", ".gitignore", ".gitattributes", ".editorconfig")
PACKAGE_MARKERS = ("Chart.yaml", "kustomization.yaml", "kustomization.yml", "Kustomization")
_SHARED_VALUES = re.compile(r"^(values([-_.].*)?|.*[-_.]values)\.ya?ml$")


@dataclass(frozen=True, order=True)
class Unit:
    """One target rendered and evaluated on its own, for one environment (None: no environments)."""

    target: str  # repo-relative path handed to the loader
    environment: str | None

    def in_environment(self, environment: str) -> Unit:
        """The same unit for another environment (`environments/<env>` moves with it)."""
        parts = self.target.split("/")
        if len(parts) == 2 and parts[0] == ENVIRONMENTS_DIR:
            return Unit(f"{ENVIRONMENTS_DIR}/{environment}", environment)
        return Unit(self.target, environment)

    @property
    def service(self) -> str | None:
        parts = self.target.split("/")
        return parts[1] if len(parts) == 2 and parts[0] == SERVICES_DIR else None


@dataclass
class Scope:
    """What a change reaches: units per environment, and why."""

    environments: tuple[str | None, ...]
    units: set[Unit] = field(default_factory=set)
    everything: bool = False
    reasons: list[str] = field(default_factory=list)

    def units_for(self, environment: str | None) -> list[Unit]:
        return sorted(u for u in self.units if u.environment == environment)


class RepoFiles:
    """The file list of one commit, with the layout questions the scope asks of it."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = sorted(set(files))
        self._file_set = set(self.files)
        prefixes: set[str] = set()
        for directory in {posixpath.dirname(f) for f in self.files}:
            while directory and directory not in prefixes:
                prefixes.add(directory)
                directory = posixpath.dirname(directory)
        self._all_dirs = prefixes
        self._top_files: dict[str, list[str]] = {}

    def exists(self, path: str) -> bool:
        return path in self._all_dirs or path in self._file_set

    def services(self) -> set[str]:
        return {f.split("/")[1] for f in self.files if f.startswith(SERVICES_DIR + "/") and f.count("/") >= 2}

    def environments(self) -> set[str]:
        return {f.split("/")[1] for f in self.files if f.startswith(ENVIRONMENTS_DIR + "/") and f.count("/") >= 2}

    def environment_top_files(self, environment: str) -> list[str]:
        if environment not in self._top_files:
            prefix = f"{ENVIRONMENTS_DIR}/{environment}/"
            self._top_files[environment] = [f for f in self.files if f.startswith(prefix) and "/" not in f[len(prefix):]]
        return self._top_files[environment]

    def holds_package(self, directory: str) -> bool:
        prefix = directory + "/"
        return any(f.startswith(prefix) and posixpath.basename(f) in PACKAGE_MARKERS for f in self.files)

    def other_manifest_targets(self, profile_paths: Sequence[str]) -> set[str]:
        """Top-level folders and root files with YAML/JSON outside services/ and environments/."""
        targets = set()
        for f in self.files:
            top = f.split("/")[0]
            if top in (SERVICES_DIR, ENVIRONMENTS_DIR) or is_documentation(f) or _under(f, profile_paths):
                continue
            if f.endswith(MANIFEST_SUFFIXES) and not top.startswith("."):
                targets.add(top)
        return targets


def is_documentation(path: str) -> bool:
    parts = path.split("/")
    return (
        path.lower().endswith(DOC_SUFFIXES)
        or parts[0] in DOC_DIRS
        or parts[-1] in DOC_NAMES
        or parts[-1].upper().startswith(("LICENSE", "README", "CHANGELOG"))
    )


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def plan_scope(
    changed: Sequence[str],
    trees: Sequence[RepoFiles],
    environments: Sequence[str],
    profile_paths: Sequence[str],
) -> Scope:
    """Map changed paths to units. `trees` are the head and base file lists (a unit may exist in either).

    `profile_paths` are repo-relative: gate.yaml and every policy, data and
    values path it names; a change under any of them reaches everything.
    """
    services = set().union(*(t.services() for t in trees))
    found_envs = sorted(set(environments) or set().union(*(t.environments() for t in trees)))
    scope = Scope(environments=tuple(found_envs) if found_envs else (None,))
    envs = scope.environments

    def add_service(service: str, only: str | None = None, why: str = "") -> None:
        for env in envs:
            if only is None or env == only:
                scope.units.add(Unit(f"{SERVICES_DIR}/{service}", env))
        scope.reasons.append(why)

    for path in changed:
        parts = path.split("/")
        if _under(path, profile_paths):
            scope.everything = True
            scope.reasons.append(f"{path}: profile or policy change reaches everything")
        elif is_documentation(path):
            scope.reasons.append(f"{path}: documentation, nothing to render")
        elif parts[0] == SERVICES_DIR and len(parts) >= 3:
            add_service(parts[1], why=f"{path}: service {parts[1]} in every environment")
        elif parts[0] == ENVIRONMENTS_DIR and len(parts) >= 3:
            folder = parts[1]
            if folder not in envs:
                scope.reasons.append(f"{path}: environment {folder} not selected")
            elif len(parts) >= 4 and parts[2] in services:
                add_service(parts[2], folder, f"{path}: service {parts[2]} in {folder}")
            elif len(parts) == 3 and (_SHARED_VALUES.match(parts[2]) or posixpath.splitext(parts[2])[0] in services):
                for service in sorted(services):
                    scope.units.add(Unit(f"{SERVICES_DIR}/{service}", folder))
                scope.reasons.append(f"{path}: shared values reach every service in {folder}")
            else:
                scope.units.add(Unit(f"{ENVIRONMENTS_DIR}/{folder}", folder))
                scope.reasons.append(f"{path}: manifests of {folder}")
        elif len(parts) > 1 and any(t.holds_package(parts[0]) for t in trees):
            scope.everything = True
            scope.reasons.append(f"{path}: {parts[0]}/ holds charts or Kustomize apps others may use")
        elif not path.endswith(MANIFEST_SUFFIXES):
            scope.reasons.append(f"{path}: not a manifest, nothing to render")
        else:
            for env in envs:
                scope.units.add(Unit(parts[0], env))
            scope.reasons.append(f"{path}: manifests under {parts[0]}")

    if scope.everything:
        others = set().union(*(t.other_manifest_targets(profile_paths) for t in trees))
        for env in envs:
            scope.units.update(Unit(f"{SERVICES_DIR}/{s}", env) for s in services)
            scope.units.update(Unit(o, env) for o in others)
            if env is not None and any(t.exists(f"{ENVIRONMENTS_DIR}/{env}") for t in trees):
                scope.units.add(Unit(f"{ENVIRONMENTS_DIR}/{env}", env))
    return scope


def export_paths(scope: Scope, tree: RepoFiles, profile_paths: Sequence[str], extra_environments: dict[str | None, str | None]) -> list[str]:
    """The paths of one tree that rendering the scope needs (only those that exist in it).

    `extra_environments` maps an environment to the one promotion reads
    beside it (staging for prod): its values for the same services are needed too.
    """
    wanted: set[str] = set(profile_paths)
    for unit in scope.units:
        wanted.add(unit.target)
        upstream = extra_environments.get(unit.environment)
        if upstream is not None:
            wanted.add(unit.in_environment(upstream).target)
        for env in (unit.environment, upstream):
            if env is None or unit.service is None:
                continue
            wanted.add(f"{ENVIRONMENTS_DIR}/{env}/{unit.service}")
            wanted.update(tree.environment_top_files(env))
    return sorted(p for p in wanted if tree.exists(p))
