"""Checkov used as a library: one import, one process, its failed checks as raw results.

Checkov's CLI costs ~1.7 s of start-up per call; as a library the import is
paid once (lazily, only by a command that scans) and each runner then takes
milliseconds. `BC_SKIP_MAPPING=TRUE` keeps it from fetching its severity
mapping from the network, so severities come from cdgate's own table
(`rules/scanners/checkov-severities.yaml`). `CKV_*` ids stay the rule ids.

Checkov's Helm runner needs a `helm` binary that is not here (it silently
scans nothing); cdgate renders charts with its own Helm code instead and
hands Checkov the rendered files (`scan_documents`), then maps every finding
back to the template line the resource came from.
"""

from __future__ import annotations

import functools
import importlib
import os
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from scanner.engines.base import Level, RawResult, SourceLocation
from scanner.inputs.document import Document

ENGINE = "checkov"
#: Checkov framework name -> module holding its `Runner`.
RUNNERS: dict[str, str] = {
    "kubernetes": "checkov.kubernetes.runner",
    "dockerfile": "checkov.dockerfile.runner",
    "github_actions": "checkov.github_actions.runner",
    "secrets": "checkov.secrets.runner",
}
SEVERITY_TABLE = Path(__file__).resolve().parent.parent.parent / "rules" / "scanners" / "checkov-severities.yaml"

_lock = threading.Lock()  # Checkov's check registries are module globals: one scan at a time


@dataclass(frozen=True)
class CheckovScan:
    """What one scan found, and how many resources Checkov evaluated."""

    results: list[RawResult]
    resources: int


@functools.cache
def severity_table(path: Path = SEVERITY_TABLE) -> tuple[dict[str, str], str]:
    """(`CKV id` -> severity, default severity) from the mapping file in `rules/`, read once per process."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (data.get("checks") or {}).items()}, str(data.get("default", "medium"))


def _prepare_environment() -> None:
    os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")
    os.environ.setdefault("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
    os.environ.setdefault("LOG_LEVEL", "ERROR")


def _run_framework(framework: str, root_folder: str | None, files: list[str] | None) -> list[Any]:
    _prepare_environment()
    runner_module = importlib.import_module(RUNNERS[framework])
    from checkov.runner_filter import RunnerFilter

    report = runner_module.Runner().run(root_folder=root_folder, files=files, runner_filter=RunnerFilter(framework=[framework]))
    return report if isinstance(report, list) else [report]


def _error(framework: str, where: str, exc: BaseException) -> RawResult:
    return RawResult(
        engine=ENGINE,
        policy=framework,
        message=f"Checkov's {framework} runner failed on {where}: {type(exc).__name__}: {exc} "
        "(rerun with CDGATE_DEBUG=1, or disable the framework, and report the file to the Checkov project)",
        level=Level.ERROR,
        location=SourceLocation(path=where),
        properties={"stderr": "".join(traceback.format_exception(exc))[-8000:], "framework": framework},
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _record_result(record: Any, framework: str, file_path: str, severities: tuple[dict[str, str], str]) -> RawResult:
    table, default = severities
    start, end = (list(record.file_line_range) + [None, None])[:2]
    resource = str(record.resource or "")
    if framework == "secrets":
        # The resource is a hash of the secret: name the file and line instead, like Trivy's secrets.
        return _secret_result(record, file_path, start or 1, table.get(str(record.check_id), default))
    kind, namespace, name = _resource_identity(framework, resource)
    return RawResult(
        engine=ENGINE,
        policy=record.check_id,
        message=f"{record.check_name} ({resource})" if resource else str(record.check_name),
        rule_id=str(record.check_id),
        location=SourceLocation(path=file_path, start_line=start or 1, end_line=end or start or 1, kind=kind, namespace=namespace, name=name),
        json_path=None if kind else resource or None,
        severity=table.get(str(record.check_id), default),
        title=str(record.check_name),
        properties={"framework": framework, "resource": resource, "guideline": getattr(record, "guideline", None)},
    )


def _secret_result(record: Any, file_path: str, line: int, severity: str) -> RawResult:
    return RawResult(
        engine=ENGINE,
        policy=record.check_id,
        message=f"{record.check_name} in {file_path} at line {line}",
        rule_id=str(record.check_id),
        location=SourceLocation(path=file_path, start_line=line, end_line=line, kind="File", name=file_path),
        severity=severity,
        title=str(record.check_name),
        properties={"framework": "secrets"},
    )


def _number_secrets(results: list[RawResult]) -> None:
    """Identify each secret by file, check and ordinal (never the line or the secret's hash)."""
    seen: dict[tuple[str, str], int] = {}
    for result in results:
        if result.properties.get("framework") == "secrets" and result.location is not None:
            key = (result.location.path, str(result.rule_id))
            seen[key] = seen.get(key, 0) + 1
            result.json_path = f"{result.rule_id}[{seen[key]}]"


def _resource_identity(framework: str, resource: str) -> tuple[str | None, str | None, str | None]:
    """Kubernetes resources read `Kind.namespace.name`; other frameworks have no identity."""
    if framework != "kubernetes" or resource.count(".") < 2:
        return None, None, None
    kind, namespace, name = resource.split(".", 2)
    return kind, namespace, name


def scan_directory(directory: Path, root: Path, frameworks: Sequence[str] = tuple(RUNNERS)) -> CheckovScan:
    """Run each framework's runner over `directory`; paths in results are relative to `root`."""
    severities = severity_table()
    results: list[RawResult] = []
    resources = 0
    with _lock:
        for framework in frameworks:
            try:
                reports = _run_framework(framework, str(directory.resolve()), None)
            except Exception as exc:  # noqa: BLE001 - a Checkov crash is an ERROR result, never a pass
                results.append(_error(framework, _relative(directory, root), exc))
                continue
            for report in reports:
                resources += len(report.resources) or len(report.failed_checks) + len(report.passed_checks)
                for record in report.failed_checks:
                    absolute = getattr(record, "file_abs_path", None)
                    source = Path(absolute) if absolute and Path(absolute).is_absolute() else directory.resolve() / str(record.file_path).lstrip("/")
                    file_path = _relative(source, root)
                    results.append(_record_result(record, framework, file_path, severities))
    _number_secrets(results)
    return CheckovScan(results, resources)


def scan_documents(documents: Sequence[Document]) -> CheckovScan:
    """Checkov's Kubernetes checks over rendered documents (Helm output).

    Each document is written to its own temporary file; findings point back
    at the document's source file and the line of the resource.
    """
    import yaml

    severities = severity_table()
    resources = [d for d in documents if d.is_resource]
    if not resources:
        return CheckovScan([], 0)
    results: list[RawResult] = []
    with tempfile.TemporaryDirectory(prefix="cdgate-checkov-") as temporary, _lock:
        files: dict[str, Document] = {}
        for index, resource in enumerate(resources):
            file = Path(temporary) / f"doc{index:05d}.yaml"
            file.write_text(yaml.safe_dump(resource.obj, sort_keys=False), encoding="utf-8")
            files[str(file)] = resource
        try:
            reports = _run_framework("kubernetes", None, sorted(files))
        except Exception as exc:  # noqa: BLE001
            return CheckovScan([_error("kubernetes", resources[0].path, exc)], len(resources))
        for report in reports:
            for record in report.failed_checks:
                document = files.get(str(record.file_abs_path)) or files.get(str(record.file_path))
                if document is None:  # never drop a failed check: say it could not be placed
                    where = resources[0].path
                    results.append(_error("kubernetes", where, LookupError(f"{record.check_id} failed on {record.file_path}, a file cdgate did not write")))
                    continue
                result = _record_result(record, "kubernetes", document.path, severities)
                result.document = document
                result.location = None
                results.append(result)
    return CheckovScan(results, len(resources))
