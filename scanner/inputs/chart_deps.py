"""Chart dependencies: vendored ones render, `file://` ones are staged, missing ones stop the chart.

Helm renders a chart whose `dependencies:` are absent from `charts/` as if
they did not exist (helm-python-sdk returns no documents and no error), so a
chart checked out without `helm dependency build` would pass by omission.
`check_dependencies` turns every missing dependency into a blocking problem
that says how to vendor it. A `file://` dependency is what `helm dependency
build` would copy from a path: it is staged into a temporary copy of the
chart (never written into the repository) when it lies inside the scanned
root, and its templates keep pointing at their real files.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scanner.inputs.problems import InputProblemError

FILE_SCHEME = "file://"


@dataclass(frozen=True)
class Dependency:
    """One entry of `dependencies:` in Chart.yaml, with Helm's status for it."""

    name: str
    version: str
    repository: str
    status: str  # helm's `dependency list` status: ok, missing, wrong version, ...

    @property
    def is_file(self) -> bool:
        return self.repository.startswith(FILE_SCHEME)


@dataclass
class StagedChart:
    """The directory to render, and which staged directories stand for which real ones."""

    render_dir: Path
    originals: dict[Path, Path] = field(default_factory=dict)  # staged dir -> real dir
    _temp: tempfile.TemporaryDirectory[str] | None = None

    def original(self, path: Path) -> Path:
        """The real file behind a path inside the staged copy (unchanged when not staged)."""
        for staged, real in sorted(self.originals.items(), key=lambda kv: -len(kv[0].parts)):
            if path == staged or staged in path.parents:
                return real / path.relative_to(staged)
        return path

    def cleanup(self) -> None:
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None


def list_dependencies(chart_dir: Path, shown_chart: str) -> list[Dependency]:
    """Helm's view of the chart's dependencies (empty when it declares none).

    Read in the Helm worker process, like every render. A Chart.yaml Helm
    cannot read gives none here: loading the chart reports it.
    """
    from scanner.inputs.helm_sandbox import HelmRenderFailed, dependencies_in_worker

    try:
        entries = dependencies_in_worker(chart_dir, shown_chart)
    except HelmRenderFailed:
        return []
    return [
        Dependency(
            name=str(entry.get("name", "")),
            version=str(entry.get("version", "")),
            repository=str(entry.get("repository", "")),
            status=str(entry.get("status", "")),
        )
        for entry in entries
    ]


def stage_chart(chart_dir: Path, root: Path, show: Callable[[Path], str]) -> StagedChart:
    """Check every dependency; stage `file://` ones; raise for the first missing one.

    `root` is the real scanned root: a `file://` path that leaves it is not
    read (a pull request controls Chart.yaml).
    """
    missing = [d for d in list_dependencies(chart_dir, show(chart_dir)) if d.status == "missing"]
    if not missing:
        return StagedChart(chart_dir)
    unvendored = [d for d in missing if not d.is_file]
    if unvendored:
        raise _missing_problem(chart_dir, unvendored[0], show)
    temp = tempfile.TemporaryDirectory(prefix="cdgate-chart-")
    staged_root = Path(temp.name) / chart_dir.name
    staged = StagedChart(staged_root, {staged_root: chart_dir}, temp)
    try:
        shutil.copytree(chart_dir, staged_root, symlinks=True)
        for dependency in missing:
            source = _file_dependency_dir(chart_dir, dependency, root, show)
            target = staged_root / "charts" / dependency.name
            target.parent.mkdir(exist_ok=True)
            shutil.copytree(source, target, symlinks=True)
            staged.originals[target] = source
    except BaseException:
        staged.cleanup()
        raise
    return staged


def _file_dependency_dir(chart_dir: Path, dependency: Dependency, root: Path, show: Callable[[Path], str]) -> Path:
    relative = dependency.repository[len(FILE_SCHEME):]
    source = (chart_dir / relative).resolve()
    line = dependency_line(chart_dir / "Chart.yaml", dependency.name)
    where = show(chart_dir / "Chart.yaml")
    if source != root and root not in source.parents:
        raise InputProblemError(
            f"chart dependency {dependency.name!r} points at {dependency.repository}, outside the scanned root",
            path=where,
            line=line,
            kind="render",
            hint="vendor the dependency into charts/ (helm dependency build) or scan from a root that holds it",
        )
    if not (source / "Chart.yaml").is_file():
        raise InputProblemError(
            f"chart dependency {dependency.name!r} points at {dependency.repository}, which holds no Chart.yaml",
            path=where,
            line=line,
            kind="render",
            hint="fix the file:// path in Chart.yaml (it is relative to the chart directory)",
        )
    return source


def _missing_problem(chart_dir: Path, dependency: Dependency, show: Callable[[Path], str]) -> InputProblemError:
    chart_shown = show(chart_dir)
    return InputProblemError(
        f"chart dependency {dependency.name!r} (version {dependency.version} from {dependency.repository}) "
        f"is missing from {chart_shown}/charts/, so the chart cannot be rendered as it would be deployed",
        path=show(chart_dir / "Chart.yaml"),
        line=dependency_line(chart_dir / "Chart.yaml", dependency.name),
        kind="render",
        hint=f"vendor it: run `helm dependency build {chart_shown}` and commit "
        f"{chart_shown}/charts/{dependency.name}-{dependency.version}.tgz (or the unpacked chart)",
    )


def dependency_line(chart_yaml: Path, name: str) -> int | None:
    """Line of `- name: NAME` in Chart.yaml's dependencies (for the message)."""
    try:
        lines = chart_yaml.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    pattern = re.compile(rf"^\s*(-\s+)?name:\s*['\"]?{re.escape(name)}['\"]?\s*(#.*)?$")
    in_dependencies = False
    for number, line in enumerate(lines, start=1):
        if re.match(r"^dependencies:", line):
            in_dependencies = True
        elif in_dependencies and pattern.match(line):
            return number
    return None
