"""Nothing to check is not a pass: say which target yielded no resource, and why.

A wrong path in CI, a chart rendered without its values, a folder of Jsonnet
libraries or CUE: each loads without a single error and gives the engines
nothing to evaluate, which would read as "no findings". The loader asks
`nothing_checked` for every target, and every rendered app, that produced no
resource document and no other problem; the profile may accept it
(`inputs.allow_empty: true`), which turns the problem into a notice.
"""

from __future__ import annotations

import os
from pathlib import Path
from scanner.inputs.problems import InputProblem

KIND = "nothing"  # InputProblem.kind; CDG-ERR-004
MAX_LISTED = 5
MAX_WALKED = 10_000
MANIFEST_SUFFIXES = {".yaml", ".yml", ".json", ".jsonnet"}
#: Inputs people keep in CD repos that cdgate does not render, by suffix.
FOREIGN_FORMATS = {
    ".libsonnet": "Jsonnet library (no .jsonnet file imports it)",
    ".cue": "CUE",
    ".tf": "Terraform",
    ".hcl": "HCL",
    ".pkl": "Pkl",
    ".k": "KCL",
    ".dhall": "Dhall",
    ".ytt": "ytt",
    ".star": "Starlark",
    ".tgz": "packaged chart (not unpacked, no Chart.yaml beside it)",
}
ALLOW_HINT = "or set inputs.allow_empty: true in gate.yaml if an empty target is expected"


def nothing_checked(target: Path, shown: str, what: str, allow_empty: bool) -> InputProblem:
    """The problem for a target (or rendered app) that yielded no resource document."""
    message, hint = _explain(target, what)
    return InputProblem(
        path=shown,
        line=None,
        column=None,
        message=f"nothing to check in {shown}: {message}",
        hint=f"{hint}, {ALLOW_HINT}",
        kind=KIND,
        blocking=not allow_empty,
    )


def _explain(target: Path, what: str) -> tuple[str, str]:
    if what == "chart":
        return (
            "the chart rendered no Kubernetes resource with these values",
            "check the values that enable its templates (environments/<env>/values.yaml, --set)",
        )
    if what == "kustomize":
        return ("the kustomization built no resource", "check its resources: list")
    if what == "jsonnet":
        return ("the Jsonnet file evaluated to no Kubernetes resource", "return an object or an array of objects")
    if target.is_file():
        return (
            "the file holds no Kubernetes resource (no document with apiVersion and kind)",
            "point cdgate at the manifests to check",
        )
    files = _files_under(target)
    if not files:
        return ("the directory holds no files", "check the path given to cdgate")
    foreign = sorted({FOREIGN_FORMATS[f.suffix.lower()] for f in files if f.suffix.lower() in FOREIGN_FORMATS})
    manifests = [f for f in files if f.suffix.lower() in MANIFEST_SUFFIXES]
    if manifests:
        return (
            f"its {len(manifests)} YAML/JSON file(s) hold no Kubernetes resource (no apiVersion and kind)"
            + (f"; it also holds {', '.join(foreign)}, a format cdgate does not read" if foreign else ""),
            "point cdgate at the manifests to check",
        )
    if foreign:
        return (
            f"no Kubernetes manifests found; it holds {', '.join(foreign)}, a format cdgate does not read",
            "render it to YAML in CI and check the output",
        )
    listed = ", ".join(f.name for f in files[:MAX_LISTED]) + (", ..." if len(files) > MAX_LISTED else "")
    return (
        f"no Kubernetes manifests found (no .yaml, .yml, .json or .jsonnet file, Chart.yaml or kustomization; "
        f"it holds {listed})",
        "point cdgate at the folder with the manifests",
    )


def _files_under(directory: Path) -> list[Path]:
    """Non-hidden files under `directory` (bounded; symlinks are not followed)."""
    found: list[Path] = []
    for folder, subdirs, files in os.walk(directory):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        found.extend(Path(folder) / name for name in sorted(files) if not name.startswith("."))
        if len(found) >= MAX_WALKED:
            break
    return found

