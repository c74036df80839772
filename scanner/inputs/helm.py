"""Render a Helm chart (helm-python-sdk, Helm v4, in the `helm_sandbox` worker process) into documents.

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

from scanner.inputs.chart_deps import StagedChart
from scanner.inputs.document import Document
from scanner.inputs.helm_markers import apply_marked_lines, marked_for, render_marked
from scanner.inputs.limits import read_text_capped
from scanner.inputs.lists import expand_lists
from scanner.inputs.problems import InputProblemError, LoadResult
from scanner.inputs.render_identity import is_test_hook, mask_clock_names, mask_varying_names
from scanner.inputs.secret_provenance import chart_text, mark_generated_secret_values
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
    root: Path | None = None  # real scanned root: `file://` dependencies must stay inside it
    include_test_hooks: bool = False  # evaluate `helm.sh/hook: test` resources (Argo CD does not deploy them)
    values_sources: tuple[str, ...] = ()  # values files (and `--set`) fed to the render, for findings


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
    from scanner.inputs.chart_deps import stage_chart

    result = LoadResult()
    try:
        staged = stage_chart(request.chart_dir, request.root or request.chart_dir, show)
    except InputProblemError as exc:
        result.problems.append(exc.to_problem())
        return result
    try:
        return _render_staged(request, staged, show, max_bytes)
    finally:
        staged.cleanup()


def _render_staged(request: HelmRender, staged: StagedChart, show: Callable[[Path], str], max_bytes: int) -> LoadResult:
    from scanner.inputs.helm_sandbox import HelmRenderFailed, RenderRequest, render_in_worker

    chart_shown = show(request.chart_dir)
    result = LoadResult()

    def render_dir(directory: Path) -> dict[str, str]:
        # in a worker process with a deadline and a memory limit: a chart is untrusted code
        render = RenderRequest(directory, request.values, request.release_name, request.namespace)
        return render_in_worker(render, chart_shown)

    try:
        rendered = render_dir(staged.render_dir)
        # a second render shows what randAlphaNum, uuidv4, now, genCA... change (identity only)
        again = render_dir(staged.render_dir)
        marked = render_marked(staged.render_dir, render_dir)  # exact template lines (helm_markers)
    except HelmRenderFailed as exc:
        result.problems.append(_render_problem(staged, chart_shown, str(exc), show).to_problem())
        return result

    resolver = _TemplateFiles(staged.render_dir)
    for template_name, text in sorted(rendered.items()):
        if template_name.endswith(_NOT_MANIFESTS) or not text.strip():
            continue
        template_file = resolver.file_for(template_name)
        if template_file is not None:
            template_file = staged.original(template_file)
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
        on_disk = template_file.name != "Chart.yaml"  # else a packaged subchart: no template to map into
        template_text = _template_text(template_file, max_bytes) if on_disk else ""
        _point_at_template(documents, template_text if on_disk else None)
        marked_text = marked_for(marked, template_name)
        if marked_text is not None and on_disk:
            spliced = apply_marked_lines(documents, marked_text, shown, template_text)
            for document, paths in zip(documents, spliced):
                document.values_origin = {path: request.values_sources for path in paths}
        documents = expand_lists(documents)
        if again.get(template_name, text) != text:
            _mask_varying_names(documents, again[template_name], shown)
        if on_disk:
            mask_clock_names(documents, template_text.splitlines())
        if not request.include_test_hooks:
            documents = _without_test_hooks(documents, chart_shown, result)
        result.documents.extend(documents)
    if any(d.kind == "Secret" for d in result.documents):
        corpus = chart_text(staged.render_dir, _leaf_strings(request.values))
        mark_generated_secret_values(result.documents, corpus)
    return result


def _template_text(template_file: Path, max_bytes: int) -> str:
    try:
        return read_text_capped(template_file, str(template_file), max_bytes)
    except InputProblemError:
        return ""


def _mask_varying_names(documents: list[Document], second_text: str, shown: str) -> None:
    try:
        second = expand_lists(load_yaml_documents(second_text, shown, origin="helm"))
    except InputProblemError:
        return
    mask_varying_names([d for d in documents if d.is_resource], [d for d in second if d.is_resource])


def _without_test_hooks(documents: list[Document], chart_shown: str, result: LoadResult) -> list[Document]:
    kept = []
    for document in documents:
        if is_test_hook(document):
            result.notices.append(
                f"{document.path}: Helm test hook {document.kind}/{document.name} of chart {chart_shown} not "
                "evaluated (helm.sh/hook: test runs only on `helm test`; Argo CD does not deploy it); "
                "set inputs.include_test_hooks: true in gate.yaml to check it"
            )
            result.skipped.append((document.path, f"Helm test hook {document.kind}/{document.name}"))
        else:
            kept.append(document)
    return kept


def _leaf_strings(value: Any) -> list[str]:
    """Every string in the user values (what `--set` and values files put into the render)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaf_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaf_strings(v)]
    return [value] if isinstance(value, str) else []


def _point_at_template(documents: list[Document], template_text: str | None) -> None:
    """Replace rendered-output lines with template lines (best effort; None: no template on disk)."""
    if template_text is None:
        for document in documents:
            document.line_map = {(): 1}
            document.start_line = document.end_line = 1
        return
    template = TemplateLines(template_text)
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


def _render_problem(staged: StagedChart, chart_shown: str, message: str, show: Callable[[Path], str]) -> InputProblemError:
    """A render/load error as a problem at the template and line Helm names."""
    path, line, column = f"{chart_shown}/Chart.yaml", None, None
    match = _HELM_POSITION.search(message)
    if match:
        template_file = _TemplateFiles(staged.render_dir).file_for(match.group("file"))
        if template_file is not None:
            path = show(staged.original(template_file))
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
