"""Reading Gatekeeper YAML files (templates, constraints, suites, objects) with line maps.

Every file goes through the same loader as scanned manifests, so a policy
file gets the same size bound, the same duplicate-key and alias checks and a
line per field. A file that cannot be parsed is a `PolicyError` naming the
file and line: a policy that cannot be read stops the run (exit 2).
"""

from __future__ import annotations

from pathlib import Path

from scanner.errors import PolicyError
from scanner.inputs.document import Document
from scanner.inputs.problems import InputProblemError

YAML_SUFFIXES = (".yaml", ".yml", ".json")


def read_documents(path: Path, shown: str | None = None) -> list[Document]:
    """Every non-empty document in `path` (YAML or JSON), with its line map."""
    from scanner.inputs.loader import load_file

    try:
        return load_file(path, shown or path.as_posix())
    except InputProblemError as exc:
        raise PolicyError(exc.message, path=exc.path, line=exc.line, column=exc.column, hint=exc.hint) from None


def yaml_files(paths: list[Path]) -> list[Path]:
    """The YAML/JSON files named by `paths`, directories walked in sorted order.

    A path that does not exist is a `PolicyError`: a policy list that names a
    missing file must not silently check less.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in YAML_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise PolicyError("Gatekeeper policy path not found", path=path.as_posix(), hint="check gatekeeper.policies in gate.yaml")
    return found
