"""The entry point: `load_targets(targets, options)` -> documents and problems.

Targets are walked into a plan (`layout`), then each plan item is loaded on
its own: a bad file, chart or overlay becomes an `InputProblem` for that item
and the rest still load, so one run reports every broken input at once.
Nothing raises out of here except `ConfigError` for invalid options (an
unknown mode, a malformed `--set`); even an unexpected exception while
loading one item is caught and reported as a blocking problem, because an
input that was not evaluated must never look like a pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from scanner.inputs.document import Document
from scanner.inputs.argocd_destinations import Destinations, read_destinations
from scanner.inputs.emptiness import nothing_checked
from scanner.inputs.layout import ChartDir, JsonnetFile, KustomizeDir, LayoutWalker, ManifestFile, PlanItem
from scanner.inputs.limits import DEFAULT_MAX_FILE_BYTES, read_text_capped
from scanner.inputs.problems import InputProblem, InputProblemError, LoadResult
from scanner.inputs.skipping import PathSkipper

__all__ = ["LoadOptions", "LoadResult", "InputProblem", "load_targets", "load_file"]


@dataclass
class LoadOptions:
    """How to load targets; see docs/inputs.md for the layout rules."""

    root: Path  # findings' paths are relative to this (the repo root)
    environment: str | None = None  # --env
    set_values: Sequence[str] = ()  # --set a.b=c (Helm syntax, highest precedence)
    values_files: Sequence[Path] = ()
    mode: str = "auto"  # auto | manifests | helm | kustomize (override detection)
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    helm_release_name: str | None = None  # default: chart directory name
    helm_namespace: str | None = None  # default: the Argo CD destination, inputs.default_namespace, "default"
    allow_empty: bool = False  # a target that yields no resource is a notice, not an error (exit 2)
    include_test_hooks: bool = False  # evaluate Helm `helm.sh/hook: test` resources
    default_namespace: str | None = None  # for namespaced resources no Argo CD Application places
    skip: PathSkipper = PathSkipper()  # --skip-dirs / --skip-files


class PathDisplay:
    """Turns filesystem paths into the repo-relative, forward-slash paths findings print."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.normpath(root.absolute()))
        self.root_real = self.root.resolve()

    def __call__(self, path: Path) -> str:
        absolute = Path(os.path.normpath(Path(path).absolute()))
        relative = _relative(absolute, self.root)
        if relative is None:  # maybe reached through a symlinked parent of the root
            try:
                real = absolute.parent.resolve() / absolute.name
            except (OSError, RuntimeError):
                real = absolute
            relative = _relative(real, self.root_real)
        return relative if relative is not None else absolute.as_posix()


def _relative(path: Path, base: Path) -> str | None:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return None


def load_targets(targets: Sequence[str | Path], options: LoadOptions) -> LoadResult:
    """Load every target (files, chart dirs, kustomize dirs, CD repos) into documents."""
    from scanner.inputs.values import parse_set_values

    show = PathDisplay(options.root)
    set_values = parse_set_values(list(options.set_values))  # ConfigError on bad syntax
    walker = LayoutWalker(show.root, options.environment, options.mode, show)
    spans: list[tuple[Path, int, int, list[InputProblem]]] = []  # target, its plan items, its walk problems
    for target in targets:
        first_item, first_problem = len(walker.plan.items), len(walker.plan.problems)
        try:
            walker.add_target(Path(target))
        except (OSError, RuntimeError) as exc:  # a race or a loop the walker did not foresee
            walker.plan.problems.append(
                InputProblem(show(Path(target)), None, None, f"cannot scan: {exc}", "check the path and its symlinks", "io")
            )
        spans.append((Path(target), first_item, len(walker.plan.items), walker.plan.problems[first_problem:]))
    plan = walker.plan

    # plain manifests first: their Argo CD Applications say where the rest is deployed
    result = LoadResult(problems=list(plan.problems), skipped=list(plan.skipped), withheld=list(plan.withheld))
    taken = {i for i, item in enumerate(plan.items) if options.skip and _skipped(item, options.skip, show, result)}
    manifests = {
        i: _load_item(item, options, set_values, show, None)
        for i, item in enumerate(plan.items) if isinstance(item, ManifestFile) and i not in taken
    }
    destinations = read_destinations((d for r in manifests.values() for d in r.documents), show.root_real)

    for index, (target, first, last, walk_problems) in enumerate(spans):
        target_resources, target_blocked, target_told = 0, bool(walk_problems), False
        for i in range(first, last):
            if i in taken:  # listed in `skipped`; a target left with nothing to check is still an error
                continue
            item = plan.items[i]
            loaded = manifests[i] if i in manifests else _load_item(item, options, set_values, show, destinations)
            if options.skip:  # before counting: an app whose every rendered file is skipped checked nothing
                _drop_skipped_documents(loaded, options.skip)
            resources = sum(1 for d in loaded.documents if d.is_resource)
            blocked = bool(loaded.blocking_problems)
            if not resources and not blocked and not isinstance(item, ManifestFile):
                what, where = _app_of(item)
                loaded.problems.append(nothing_checked(where, show(where), what, options.allow_empty))
                target_told = True
            target_resources += resources
            target_blocked = target_blocked or blocked
            result.extend(loaded)
        if not target_resources and not target_blocked and not target_told and not _overlaps_loaded(index, spans):
            result.problems.append(nothing_checked(target, show(target), "target", options.allow_empty))
    destinations.assign(result.documents, lambda d: _rendered_from(d, show), options.default_namespace)
    return result


def _drop_skipped_documents(loaded: LoadResult, skip: PathSkipper) -> None:
    """Leave out rendered documents whose source file a glob takes (a chart's `templates/tests/`)."""
    kept: list[Document] = []
    for document in loaded.documents:
        if skip.skips_file(document.path) is None:
            kept.append(document)
        else:
            loaded.skipped.append((document.path, "matches --skip-dirs/--skip-files"))
    loaded.documents = kept


def _overlaps_loaded(index: int, spans: list[tuple[Path, int, int, list[InputProblem]]]) -> bool:
    """True when target `index` added no item because another target, holding it or held by it, took its files.

    (`cdgate check apps apps/web.yaml`, or one target given twice: not "nothing to check".)
    """
    target, first, last, _ = spans[index]
    if first != last:
        return False
    real = target.resolve()
    for other_index, (other, other_first, other_last, _) in enumerate(spans):
        if other_index == index or other_first == other_last:
            continue
        other_real = other.resolve()
        if other_real == real or other_real in real.parents or real in other_real.parents:
            return True
    return False


def _skipped(item: PlanItem, skip: PathSkipper, show: PathDisplay, result: LoadResult) -> bool:
    """True (with a `skipped` entry) when a --skip-dirs/--skip-files glob takes this item."""
    if isinstance(item, (ManifestFile, JsonnetFile)):
        shown = show(item.path)
        pattern = skip.skips_file(shown)
    else:
        shown = show(item.app_dir if isinstance(item, KustomizeDir) else item.path)
        pattern = skip.skips_dir(shown)
    if pattern is None:
        return False
    result.skipped.append((shown, f"matches skip glob {pattern!r}"))
    return True


def _rendered_from(document: Document, show: PathDisplay) -> Path | None:
    """The directory an Argo CD application would name as the document's source path."""
    if document.rendered_from and document.origin != "jsonnet":
        return (show.root / document.rendered_from).resolve()
    return (show.root / document.path).parent.resolve()


def _load_item(
    item: PlanItem, options: LoadOptions, set_values: dict[str, Any], show: PathDisplay, destinations: Destinations | None
) -> LoadResult:
    """One plan item's documents and problems; never raises."""
    result = LoadResult()
    try:
        if isinstance(item, ManifestFile):
            _load_manifest(item, options, show, result)
        elif isinstance(item, JsonnetFile):
            from scanner.inputs.jsonnet import JsonnetRender, render_jsonnet

            result.extend(render_jsonnet(JsonnetRender(item.path, show.root_real, item.scope), show, options.max_file_bytes))
        elif isinstance(item, ChartDir):
            result.extend(_render_chart(item, options, set_values, show, destinations))
        elif isinstance(item, KustomizeDir):
            from scanner.inputs.kustomize import KustomizeRender, render_kustomization

            request = KustomizeRender(item.render_dir, item.environment)
            result.extend(render_kustomization(request, show, options.max_file_bytes))
    except InputProblemError as exc:
        result.problems.append(exc.to_problem())
    except Exception as exc:  # noqa: BLE001 - fail closed, never a traceback
        where = item.path if not isinstance(item, KustomizeDir) else item.render_dir
        result.problems.append(
            InputProblem(
                path=show(where),
                line=None,
                column=None,
                message=f"could not load: {type(exc).__name__}: {exc}",
                hint="this is a bug in cdgate; please report it with the file",
                kind="io",
            )
        )
    return result


def _app_of(item: PlanItem) -> tuple[str, Path]:
    """What kind of rendered app an item is, and its path (for the nothing-to-check message)."""
    if isinstance(item, ChartDir):
        return "chart", item.path
    if isinstance(item, KustomizeDir):
        return "kustomize", item.render_dir
    if isinstance(item, JsonnetFile):
        return "jsonnet", item.path
    return "target", item.path


def load_file(path: Path, shown: str, *, scope: str | None = None, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[Document]:
    """Parse one YAML or JSON file into documents (raises `InputProblemError`)."""
    from scanner.inputs.jsonpos import load_json_document
    from scanner.inputs.yamlpos import load_yaml_documents

    from scanner.inputs.lists import expand_lists

    text = read_text_capped(path, shown, max_bytes)
    if path.suffix.lower() == ".json":
        return expand_lists(load_json_document(text, shown, scope=scope))
    return expand_lists(load_yaml_documents(text, shown, scope=scope))


def _load_manifest(item: ManifestFile, options: LoadOptions, show: PathDisplay, result: LoadResult) -> None:
    shown = show(item.path)
    documents = load_file(item.path, shown, scope=item.scope, max_bytes=options.max_file_bytes)
    if not documents:
        result.skipped.append((shown, "empty file (no YAML documents)"))
        result.problems.append(
            InputProblem(shown, None, None, "file holds no documents", "delete the file or add content", "empty", blocking=False)
        )
        return
    result.documents.extend(documents)


def _render_chart(
    item: ChartDir, options: LoadOptions, set_values: dict[str, Any], show: PathDisplay, destinations: Destinations | None
) -> LoadResult:
    from scanner.inputs.containment import check_chart_files
    from scanner.inputs.helm import HelmRender, chart_values, render_chart

    chart_dir = Path(item.path)
    real_chart = chart_dir.resolve()
    boundary = show.root_real if show.root_real in real_chart.parents else real_chart
    check_chart_files(chart_dir, boundary, show)  # Helm follows symlinks; refuse escapes first
    values = chart_values(
        chart_dir.resolve(),
        show.root_real,
        options.environment,
        [Path(v) for v in options.values_files],
        set_values,
        options.max_file_bytes,
        show,
    )
    request = HelmRender(
        chart_dir=chart_dir.resolve(),
        environment=options.environment,
        release_name=options.helm_release_name or chart_dir.resolve().name,
        namespace=options.helm_namespace
        or (destinations.namespace_for(chart_dir.resolve(), options.environment) if destinations else None)
        or options.default_namespace
        or "default",
        values=values,
        root=show.root_real,
        include_test_hooks=options.include_test_hooks,
        values_sources=_values_sources(chart_dir.resolve(), options, set_values, show),
    )
    return render_chart(request, show, options.max_file_bytes)


def _values_sources(chart_dir: Path, options: LoadOptions, set_values: dict[str, Any], show: PathDisplay) -> tuple[str, ...]:
    """The values a chart was rendered with, lowest precedence first (named in findings on spliced fields)."""
    from scanner.inputs.values import environment_values_files

    files = [chart_dir / "values.yaml"] if (chart_dir / "values.yaml").is_file() else []
    files += environment_values_files(chart_dir, show.root_real, options.environment) + [Path(v) for v in options.values_files]
    return tuple(show(f) for f in files) + (("--set",) if set_values else ())
