"""Helm values for one chart and environment, layered and merged as Helm does.

Precedence, lowest first (the chart's own `values.yaml` is applied by Helm
itself when it coalesces user values with chart defaults):

1. chart `values.yaml`
2. `environments/<env>/values.yaml`, shared by every chart of the CD repo,
   found in the nearest `environments/` folder walking up from the chart
3. `environments/<env>/<chart-dir>/values.yaml`, then `environments/<env>/<chart-dir>.yaml`
4. `LoadOptions.values_files`, in order
5. `--set` expressions, in order

Layers 2-5 are merged here like Helm merges several `-f` files and `--set`:
maps merge key by key, lists and scalars replace, and a `null` is kept so
that Helm's coalescing then deletes that key from the chart defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from scanner.errors import ConfigError
from scanner.inputs.limits import read_text_capped
from scanner.inputs.problems import InputProblemError
from scanner.merging import deep_merge
from scanner.inputs.yamlpos import load_yaml_documents

VALUES_FILE_NAMES = ("values.yaml", "values.yml")


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values: maps merge recursively, everything else replaces.

    Returns a new dict; neither argument is changed. `None` values are kept
    (they delete the key when Helm coalesces with chart defaults).
    """
    return deep_merge(base, override)


def parse_set_values(expressions: Sequence[str]) -> dict[str, Any]:
    """Parse `--set a.b=c,x={1,2}` expressions with Helm's own parser, merged in order."""
    if not expressions:
        return {}
    import helm_python

    result: dict[str, Any] = {}
    for expression in expressions:
        try:
            parsed = helm_python.parse_set_string(expression)
        except helm_python.HelmError as exc:
            raise ConfigError(
                f"invalid --set expression {expression!r}: {exc}",
                hint="use Helm's syntax: --set key.sub=value,list={a,b}",
            ) from None
        result = merge_values(result, parsed)
    return result


def environment_values_files(chart_dir: Path, root: Path, environment: str | None) -> list[Path]:
    """The environment's values files for `chart_dir`, lowest precedence first."""
    if not environment:
        return []
    env_dir = find_environment_dir(chart_dir, root, environment)
    if env_dir is None:
        return []
    name = chart_dir.name
    candidates = [
        *(env_dir / n for n in VALUES_FILE_NAMES),
        *(env_dir / name / n for n in VALUES_FILE_NAMES),
        env_dir / f"{name}.yaml",
        env_dir / f"{name}.yml",
    ]
    return [c for c in candidates if c.is_file()]


def find_environment_dir(start: Path, root: Path, environment: str) -> Path | None:
    """Nearest `environments/<env>/` walking up from `start` to `root` (inclusive)."""
    start, root = start.resolve(), root.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "environments" / environment
        if candidate.is_dir():
            return candidate
        if folder == root:
            break
    return None


def load_values_file(path: Path, shown: str, max_bytes: int) -> dict[str, Any]:
    """Read one values file; it must hold a single mapping (or nothing)."""
    text = read_text_capped(path, shown, max_bytes)
    documents = load_yaml_documents(text, shown)
    if not documents:
        return {}
    if len(documents) > 1 or not isinstance(documents[0].obj, dict):
        raise InputProblemError(
            "a Helm values file must hold one YAML mapping",
            path=shown,
            kind="parse",
            line=documents[0].start_line,
            column=1,
            hint="put the values in one mapping (key: value) without `---` separators",
        )
    return documents[0].obj


def layered_values(
    files: Iterable[tuple[Path, str]], set_values: dict[str, Any], max_bytes: int
) -> dict[str, Any]:
    """Merge values files (path, shown name) in order, then `--set` values on top."""
    merged: dict[str, Any] = {}
    for path, shown in files:
        merged = merge_values(merged, load_values_file(path, shown, max_bytes))
    return merge_values(merged, set_values)
