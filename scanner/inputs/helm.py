"""Render a Helm chart in process (helm-python-sdk, Helm v4) into documents.

Each rendered document points at the template file it came from (what
`helm template` prints as `# Source:`), made repo-relative, with its fields
mapped to template lines by `template_lines`. A chart that does not load or
render becomes one `render` problem naming the chart, and the template and
line when Helm reports them; it never yields a partial set of documents that
could pass by omission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from scanner.inputs.document import Document
from scanner.inputs.limits import read_text_capped
from scanner.inputs.lists import expand_lists
from scanner.inputs.problems import InputProblemError, LoadResult
from scanner.inputs.template_lines import TemplateLines
from scanner.inputs.values import environment_values_files, layered_values
from scanner.inputs.yamlpos import load_yaml_documents

# "execution error at (chart/templates/x.yaml:2:6): msg", "parse error at (chart/templates/x.yaml:1): msg"
_HELM_POSITION = re.compile(r"\((?P<file>[^():\s]+):(?P<line>\d+)(?::(?P<column>\d+))?\)")
_NOT_MANIFESTS = ("NOTES.txt",)


@dataclass(frozen=True)
class HelmRender:
    """What to render: a chart directory for one environment."""

    chart_dir: Path
    environment: str | None
    release_name: str
    namespace: str
    values: dict[str, Any]


def chart_values(
    chart_dir: Path,
    root: Path,
    environment: str | None,
    values_files: list[Path],
    set_values: dict[str, Any],
    max_bytes: int,
    show: Callable[[Path], str],
) -> dict[str, Any]:
    """User values for `chart_dir`: environment layers, `values_files`, then `--set`."""
    from scanner.inputs.containment import ensure_inside_root, values_boundary

    found = environment_values_files(chart_dir, root, environment)
    files = [ensure_inside_root(f, values_boundary(f, root), show(f)) for f in found] + list(values_files)
    return layered_values(((f, show(f)) for f in files), set_values, max_bytes)


def render_chart(request: HelmRender, show: Callable[[Path], str], max_bytes: int) -> LoadResult:
    """Render `request.chart_dir` and load every rendered document.

    `show` turns an absolute path into the path findings print (repo-relative).
    """
    from scanner.inputs.helm_sandbox import HelmRenderFailed, RenderRequest, render_in_worker

    chart_shown = show(request.chart_dir)
    result = LoadResult()
    try:  # in a worker process with a deadline and a memory limit: a chart is untrusted code
        rendered = render_in_worker(
            RenderRequest(request.chart_dir, request.values, request.release_name, request.namespace), chart_shown
        )
    except HelmRenderFailed as exc:
        result.problems.append(_render_problem(request.chart_dir, chart_shown, str(exc), show).to_problem())
        return result

    resolver = _TemplateFiles(request.chart_dir)
    for template_name, text in sorted(rendered.items()):
        if template_name.endswith(_NOT_MANIFESTS) or not text.strip():
            continue
        template_file = resolver.file_for(template_name)
        if template_file is None or not template_file.is_file():
            # a packaged (.tgz) subchart: point at the Chart.yaml that pulls it in
            template_file = request.chart_dir / "Chart.yaml"
        shown = show(template_file)
        try:
            documents = load_yaml_documents(
                text, shown, origin="helm", scope=request.environment, rendered_from=chart_shown
            )
        except InputProblemError as exc:
            exc.message = (
                f"template of chart {chart_shown} rendered invalid YAML "
                f"(line {exc.line} of the rendered output): {exc.message}"
            )
            exc.kind = "render"
            exc.line, exc.column = None, None
            exc.hint = "fix the template's indentation or quoting (try `helm template` to see the output)"
            result.problems.append(exc.to_problem())
            continue
        _point_at_template(documents, template_file, max_bytes)
        result.documents.extend(expand_lists(documents))
    return result


def _point_at_template(documents: list[Document], template_file: Path, max_bytes: int) -> None:
    """Replace rendered-output lines with template lines (best effort)."""
    if template_file.name == "Chart.yaml":  # no template on disk to map into
        for document in documents:
            document.line_map = {(): 1}
            document.start_line = document.end_line = 1
        return
    try:
        template = TemplateLines(read_text_capped(template_file, str(template_file), max_bytes))
    except InputProblemError:
        template = TemplateLines("")
    for ordinal, document in enumerate(documents):
        segment = template.choose_segment(ordinal, len(documents), document.kind)
        if segment is None:
            document.line_map = {(): 1}
            document.start_line = document.end_line = 1
            continue
        document.line_map = template.map_paths(segment, list(document.line_map))
        document.start_line, document.end_line = segment.start_line, segment.end_line


class _TemplateFiles:
    """Map Helm's template names (`<chart>/charts/<sub>/templates/x.yaml`) to files.

    Helm names templates by chart *name* (from Chart.yaml), which need not be
    the directory name, and subcharts sit under `charts/<dir>`.
    """

    def __init__(self, chart_dir: Path) -> None:
        self.chart_dir = chart_dir

    def file_for(self, template_name: str) -> Path | None:
        parts = template_name.split("/")[1:]  # drop the root chart's name
        current = self.chart_dir
        while len(parts) >= 2 and parts[0] == "charts":
            sub = self._subchart_dir(current, parts[1])
            if sub is None:
                return None
            current, parts = sub, parts[2:]
        return current.joinpath(*parts) if parts else None

    @staticmethod
    def _subchart_dir(parent: Path, chart_name: str) -> Path | None:
        charts = parent / "charts"
        direct = charts / chart_name
        if (direct / "Chart.yaml").is_file():
            return direct
        if not charts.is_dir():
            return None
        for candidate in sorted(charts.iterdir()):
            chart_yaml = candidate / "Chart.yaml"
            if chart_yaml.is_file() and _chart_name(chart_yaml) == chart_name:
                return candidate
        return None


def _chart_name(chart_yaml: Path) -> str | None:
    for line in chart_yaml.read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.match(r"^name:\s*['\"]?([^'\"\s#]+)", line)
        if match:
            return match.group(1)
    return None


def _render_problem(chart_dir: Path, chart_shown: str, message: str, show: Callable[[Path], str]) -> InputProblemError:
    """A render/load error as a problem at the template and line Helm names."""
    path, line, column = f"{chart_shown}/Chart.yaml", None, None
    match = _HELM_POSITION.search(message)
    if match:
        template_file = _TemplateFiles(chart_dir).file_for(match.group("file"))
        if template_file is not None:
            path = show(template_file)
        line = int(match.group("line"))
        column = int(match.group("column")) if match.group("column") else None
    return InputProblemError(
        f"Helm could not render chart {chart_shown}: {message}",
        path=path,
        kind="render",
        line=line,
        column=column,
        hint="fix the template or supply the missing values (--set, environments/<env>/values.yaml)",
    )
