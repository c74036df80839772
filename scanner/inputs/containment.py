"""Keep what a pull request controls from reading outside the scanned root.

Helm reads a chart's files itself (Go's filesystem calls follow symlinks), and
`.Files.Get` puts whatever it read into the rendered manifests and so into
every report: a chart holding `files/env.txt -> /proc/self/environ` would
print the runner's secrets. So before a chart is handed to Helm, every entry
under it is checked here: a symlink that leaves the scanned root, or that is
broken, and a FIFO or device (Helm would block reading it), make the chart a
blocking problem naming the entry. The chart is not rendered from a filtered
copy, because a chart missing a file could render to less and pass by
omission.

Values schemas are checked too: Helm resolves `$ref`, `$id` and `$schema`
itself and would fetch a URL or read `file:///etc/passwd`, so only
references inside the schema document (`#...`) are accepted.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

from scanner.inputs.limits import DEFAULT_MAX_FILE_BYTES, read_text_capped
from scanner.inputs.problems import InputProblemError

SCHEMA_FILE = "values.schema.json"
#: Meta-schemas are named by URI; Helm's validator knows the json-schema.org drafts without a fetch.
META_SCHEMA_PREFIXES = ("http://json-schema.org/", "https://json-schema.org/")
_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


def ensure_inside_root(path: Path, root: Path, shown: str) -> Path:
    """`path` itself when its real location is under `root`, else an `InputProblemError`."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _escape(shown, "is a broken or looping symlink") from None
    root_real = root.resolve()
    if real != root_real and root_real not in real.parents:
        raise _escape(shown, "leads outside the scanned root")
    return path


def values_boundary(values_file: Path, root: Path) -> Path:
    """What an environment values file must stay inside: the scanned root, or the CD repo holding it.

    A chart given outside `--root` still takes values from the `environments/`
    folder beside it; then the folder holding that `environments/` is the limit.
    """
    absolute = Path(os.path.abspath(values_file))
    if root.resolve() in absolute.parents:
        return root
    for folder in absolute.parents:
        if folder.name == "environments":
            return folder.parent
    return absolute.parent


def check_chart_files(chart_dir: Path, root: Path, show: Callable[[Path], str]) -> None:
    """Raise `InputProblemError` for the first chart entry Helm must not read."""
    root_real = root.resolve()
    for path in _entries(chart_dir):
        shown = show(path)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            ensure_inside_root(path, root_real, shown)
            info = os.stat(path)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
            raise InputProblemError(
                "chart holds a FIFO, socket or device file; the chart was not rendered",
                path=shown,
                kind="io",
                hint="remove the file from the chart; Helm would block or read a device",
            )
        if path.name == SCHEMA_FILE and stat.S_ISREG(info.st_mode):
            check_values_schema(path, shown)


def check_values_schema(path: Path, shown: str) -> None:
    """Refuse a values schema whose references could reach a URL or another file.

    A schema cdgate cannot read whole (too large, not UTF-8, not JSON, nested
    too deep) is refused too: Helm's Go parser may still accept it and
    resolve references nobody checked.
    """
    text = read_text_capped(path, shown, DEFAULT_MAX_FILE_BYTES)
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputProblemError(
            f"values schema could not be read as JSON ({type(exc).__name__}: {exc}), so its references "
            "were not checked; the chart was not rendered",
            path=shown,
            kind="render",
            hint="fix the JSON of values.schema.json (Helm would reject it as well)",
        ) from None
    for key, value in _keywords(schema):
        if key in _REFERENCE_KEYS and isinstance(value, str) and not value.startswith("#"):
            raise _schema_problem(shown, key, value)
        if key == "$id" and isinstance(value, str) and ":" in value:
            raise _schema_problem(shown, key, value)
        if key == "$schema" and isinstance(value, str) and not value.startswith(META_SCHEMA_PREFIXES):
            raise _schema_problem(shown, key, value)


def _entries(chart_dir: Path) -> Iterator[Path]:
    """Every entry under `chart_dir`, without following directory symlinks."""
    for folder, subdirs, files in os.walk(chart_dir, followlinks=False):
        base = Path(folder)
        for name in [*subdirs, *files]:
            yield base / name


def _keywords(node: Any) -> Iterator[tuple[str, Any]]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                yield key, value
                stack.append(value)
        elif isinstance(current, list):
            stack.extend(current)


def _escape(shown: str, what: str) -> InputProblemError:
    return InputProblemError(
        f"symlink {what}; it was not followed and the chart or values were not rendered",
        path=shown,
        kind="io",
        hint="replace the symlink by the file itself, inside the repository",
    )


def _schema_problem(shown: str, key: str, value: str) -> InputProblemError:
    shown_value = value if len(value) <= 120 else value[:117] + "..."
    return InputProblemError(
        f"values schema {key} {shown_value!r} points outside the schema; it was not resolved",
        path=shown,
        kind="render",
        hint="keep definitions in the schema file and refer to them as \"#/$defs/name\"",
    )
