"""Finding and reading Rego sources: policy files, data files, the engine.

Shared by the gate's engine (`rego.py`) and the test runner
(`rego_testing.py`), so both see the same files, merge data the same way and
report a broken policy with the same file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from scanner.engines.rego_errors import parse_regorus_error
from scanner.errors import PolicyError, yaml_error_details

DATA_SUFFIXES = (".json", ".yaml", ".yml")
MAX_DEFAULT_COLUMNS = 1024


@dataclass(frozen=True)
class PolicySources:
    """What a test run loads: policy files and data files, sorted."""

    policies: tuple[Path, ...]
    data: tuple[Path, ...]


def discover(paths: Iterable[Path | str], *, require_policies: bool = True) -> PolicySources:
    """Find `.rego` and data files under `paths` (files or directories).

    Hidden directories (`.git`, `.venv`) are skipped. A path that does not
    exist is a PolicyError rather than an empty, "passing" run, and so is a
    policy directory without Rego (`require_policies=False` for data directories).
    """
    policies: set[Path] = set()
    data: set[Path] = set()
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise PolicyError("no such file or directory", path=str(raw), hint="pass a .rego file or a policy directory")
        candidates = [root] if root.is_file() else _walk(root)
        for path in candidates:
            if path.suffix == ".rego":
                policies.add(path)
            elif path.suffix in DATA_SUFFIXES:
                data.add(path)
        if require_policies and root.is_dir() and not any(p.suffix == ".rego" for p in candidates):
            raise PolicyError("policy directory holds no .rego files", path=str(raw), hint=_no_policies_hint(candidates))
    return PolicySources(tuple(sorted(policies)), tuple(sorted(data)))


def _no_policies_hint(files: Sequence[Path]) -> str:
    """What to do about a policy directory without Rego: it may hold Kyverno policies."""
    for path in files[:200]:
        if path.suffix in (".yaml", ".yml"):
            try:
                head = path.read_text(encoding="utf-8", errors="replace")[:4096]
            except OSError:
                continue
            if "kyverno.io/" in head:
                return "it holds Kyverno policies: list it under kyverno.policies in gate.yaml"
    return "point at the folder holding your .rego files (conftest's default is ./policy)"


def _walk(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative[:-1]) or not path.is_file():
            continue
        found.append(path)
    return found


def load_data_files(files: Sequence[Path]) -> dict[str, Any]:
    """Deep-merge data files into one `data` document.

    Two files that set the same leaf to different values are a PolicyError
    naming both: silently picking one would make tests depend on file order.
    """
    merged: dict[str, Any] = {}
    owners: dict[tuple[str, ...], Path] = {}
    for path in files:
        document = _read_data_file(path)
        _merge_into(merged, document, (), path, owners)
    return merged


def _read_data_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read data file: {exc}", path=str(path)) from None
    try:
        if path.suffix == ".json":
            document = json.loads(text) if text.strip() else {}
        else:
            document = yaml.safe_load(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise PolicyError(f"data file is not valid JSON: {exc.msg}", path=str(path), line=exc.lineno, column=exc.colno) from None
    except yaml.YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise PolicyError(f"data file is not valid YAML: {problem}", path=str(path), line=line, column=column) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise PolicyError(
            f"data file must hold an object at the top level, not {type(document).__name__}",
            path=str(path),
            line=1,
            hint="wrap the value in a key, e.g. {\"my_data\": ...}",
        )
    return document


def _merge_into(
    target: dict[str, Any],
    source: dict[str, Any],
    prefix: tuple[str, ...],
    path: Path,
    owners: dict[tuple[str, ...], Path],
) -> None:
    for key, value in source.items():
        here = (*prefix, str(key))
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, here, path, owners)
        elif key in target and target[key] != value:
            other = owners.get(here, "another data file")
            raise PolicyError(
                f"data key {'.'.join(here)} is also set by {other}",
                path=str(path),
                hint="each data key may be set by one file only",
            )
        else:
            target[key] = value
            owners[here] = path


def policy_error_from_regorus(exc: BaseException, fallback_path: str) -> PolicyError:
    """Turn a regorus error into a PolicyError naming the file and line."""
    report = parse_regorus_error(exc)
    return PolicyError(
        report.message,
        path=report.path or fallback_path,
        line=report.line,
        column=report.column,
        hint="fix the policy and run `cdgate policy test` again",
    )


def read_policy(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {exc}", path=str(path)) from None


def add_policy(engine: Any, shown_path: str, text: str) -> str:
    """Add one policy to a regorus engine; returns its package.

    regorus refuses lines over 1,024 columns by default (generated policies
    have them), so the limits are raised for such a file. A syntax error is a
    PolicyError naming the file and line.
    """
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > MAX_DEFAULT_COLUMNS:
        engine.set_policy_length_config(
            max_col=longest + 1, max_file_bytes=max(len(text.encode()) + 1, 1 << 24), max_lines=1_000_000
        )
    try:
        return str(engine.add_policy(shown_path, text))
    except RuntimeError as exc:
        raise policy_error_from_regorus(exc, shown_path) from None
