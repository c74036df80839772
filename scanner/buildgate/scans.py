"""The build gate's scans (image, filesystem, secrets, IaC) folded into one verdict.

Each scan is one gate of the verdict (`vulnerability`, `secrets`, `iac`...)
so the reports read like `cdgate check`'s: the same finding factory, the same
waivers and exit codes (0 passed, 1 a gate failed, 2 could not evaluate). A
scan that checked nothing (an empty directory, no IaC file) is an error, not
a pass.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from scanner.buildgate.vulnerabilities import VulnerabilitySettings, drop_unfixed, with_trivyignore
from scanner.catalog import Catalog, load_catalog
from scanner.engines.base import Level, RawResult, SourceLocation
from scanner.engines.trivy import TrivyOptions, TrivyTarget
from scanner.findings import GateResult, Verdict
from scanner.inputs.document import Document
from scanner.gates.base import GateContext, GateRun
from scanner.gates.equivalents import load_controls, merge_equivalents
from scanner.gates.pipeline import fold_verdict
from scanner.gates.results import finding_from_raw
from scanner.profile import Profile

NOTHING_CHECKED_RULE = "CDG-ERR-001"


@dataclass(frozen=True)
class ScanRequest:
    """Where a build-gate scan reads and how its verdict is judged."""

    profile: Profile
    root: Path
    trivy: TrivyOptions
    today: dt.date = field(default_factory=dt.date.today)
    catalog: Catalog | None = None


@dataclass(frozen=True)
class ImageSource:
    """An image: a registry reference, a `docker save` tarball or an OCI layout directory."""

    reference: str | None = None
    tarball: Path | None = None
    layout: Path | None = None

    def trivy_target(self) -> TrivyTarget:
        if self.tarball is not None:
            return TrivyTarget("image", str(self.tarball), input_path=True)
        if self.layout is not None:
            return TrivyTarget("image", str(self.layout), input_path=True)
        if self.reference:
            return TrivyTarget("image", self.reference)
        raise ValueError("an image needs a reference, a tarball or a layout directory")

    @property
    def label(self) -> str:
        return str(self.reference or self.tarball or self.layout)


def nothing_checked(what: str, where: str, hint: str) -> RawResult:
    """The ERROR result for a scan that found nothing to check (never a pass)."""
    return RawResult(
        engine="cdgate",
        policy="nothing-checked",
        message=f"{what} found nothing to check in {where} ({hint})",
        level=Level.ERROR,
        rule_id=NOTHING_CHECKED_RULE,
        location=SourceLocation(path=where),
    )


def _has_files(directory: Path) -> bool:
    return any(p.is_file() for p in directory.rglob("*"))


def _directory_problem(directory: Path, what: str) -> RawResult | None:
    if not directory.is_dir():
        return nothing_checked(what, str(directory), "give a directory that exists")
    if not _has_files(directory):
        return nothing_checked(what, str(directory), "the directory holds no files")
    return None


def scan_vulnerabilities(image: ImageSource, request: ScanRequest) -> GateRun:
    """Trivy's vulnerability scan of an image (OS packages and language packages)."""
    from scanner.engines import trivy

    target = image.trivy_target()
    try:
        report = trivy.scan_report(target, ["vuln"], request.trivy)
    except trivy.TrivyFailure as failure:
        return GateRun(raw=[trivy.error_result(target, failure)])
    return vulnerability_run(report, target, request.profile)


def vulnerability_run(report: dict[str, Any], target: TrivyTarget, profile: Profile) -> GateRun:
    """Trivy's vulnerability report of an image as a run; an image with no OS and no package is an error.

    Trivy reports such an image (scratch, an unsupported OS, a broken layer)
    with no results at all, which would otherwise read as "no vulnerability".
    """
    from scanner.engines import trivy

    scanned = report.get("Results") or []
    if not scanned and not (report.get("Metadata") or {}).get("OS"):
        hint = "Trivy recognised no OS and no language package in it; scan an image of a supported OS or with package metadata"
        return GateRun(raw=[nothing_checked("the vulnerability scan", target.target, hint)])
    raw = trivy.results_from_report(report)
    if VulnerabilitySettings.from_profile(profile).ignore_unfixed:
        raw = drop_unfixed(raw)
    return GateRun(raw=raw, checked=max(1, len(scanned)))


def scan_filesystem(directory: Path, scanners: Sequence[str], request: ScanRequest) -> GateRun:
    """Trivy over a directory: vulnerabilities of lock files, secrets, or both."""
    from scanner.engines import trivy

    problem = _directory_problem(directory, "the filesystem scan")
    if problem is not None:
        return GateRun(raw=[problem])
    raw = trivy.scan(TrivyTarget("fs", str(directory)), scanners, request.trivy, request.root)
    if "vuln" in scanners and VulnerabilitySettings.from_profile(request.profile).ignore_unfixed:
        raw = drop_unfixed(raw)
    return GateRun(raw=raw, checked=sum(1 for p in directory.rglob("*") if p.is_file()))


def scan_secrets(directory: Path, request: ScanRequest) -> GateRun:
    """Trivy's secret scanner over every file of a directory, and Checkov's over its config files.

    Checkov's secrets runner reads only configuration files (YAML, JSON,
    Terraform...) by default; where both flag the same file, the findings are
    merged (`rules/scanners/equivalent-controls.yaml`).
    """
    run = scan_filesystem(directory, ["secret"], request)
    if not run.skipped and not any(r.level is Level.ERROR and r.engine == "cdgate" for r in run.raw):
        from scanner.engines import checkov

        found = checkov.scan_directory(directory, request.root, ("secrets",))
        run = GateRun(raw=run.raw + found.results, checked=run.checked)
    return run


def scan_iac(directory: Path, request: ScanRequest) -> GateRun:
    """Trivy `config`, Checkov and cdgate's own policies over a directory's IaC.

    cdgate loads the Kubernetes manifests and renders the Helm charts under
    the directory (its own Helm code: Checkov cannot render here) and runs
    the manifest gate's Rego and Kyverno policies over them; Checkov checks
    the plain files, the rendered charts, Dockerfiles and workflows; Trivy's
    findings get the resource identity of the document holding their line,
    so equivalent findings of the three can be merged into one.
    """
    from scanner.engines import trivy

    problem = _directory_problem(directory, "the IaC scan")
    if problem is not None:
        return GateRun(raw=[problem])
    from scanner.gates.results import raw_from_problem
    from scanner.inputs.loader import LoadOptions, load_targets

    # Kubernetes manifests are one kind of IaC here: a source tree of Dockerfiles and workflows
    # alone is not "nothing to check" (Trivy and Checkov read those)
    options = LoadOptions(root=request.root, max_file_bytes=request.profile.inputs.max_file_bytes, allow_empty=True)
    loaded = load_targets([str(directory)], options)
    raw: list[RawResult] = [raw_from_problem(p) for p in loaded.problems]
    checked = 0
    if request.profile.gate_enabled("manifest"):
        from scanner.gates.manifest import create as create_manifest_gate

        context = GateContext(documents=loaded.documents, profile=request.profile, catalog=request.catalog or load_catalog(), root=request.root, today=request.today)
        manifest_gate = create_manifest_gate(request.profile, request.root)
        manifest_run = manifest_gate.run(context)
        raw += manifest_run.raw
        checked += manifest_run.checked
        # regorus engines must be freed on the thread that made them; the gate holds them in
        # reference cycles, so collect them here rather than in whichever thread GC runs next.
        del manifest_gate
        gc.collect()
    target = TrivyTarget("config", str(directory))
    try:
        report = trivy.scan_report(target, [], request.trivy)
        raw += with_resource_identity(trivy.results_from_report(report, request.root, directory), loaded.documents)
        checked += len(report.get("Results") or [])
    except trivy.TrivyFailure as failure:
        raw.append(trivy.error_result(target, failure))
    from scanner.engines import checkov

    files = checkov.scan_directory(directory, request.root, ("kubernetes", "dockerfile", "github_actions"))
    rendered = checkov.scan_documents([d for d in loaded.documents if d.origin == "helm"])
    raw += files.results + rendered.results
    checked += files.resources + rendered.resources
    if checked == 0 and not any(r.level is Level.ERROR for r in raw):
        raw.append(
            nothing_checked(
                "the IaC scan",
                str(directory),
                "no Kubernetes manifest, Helm chart, Dockerfile or workflow was recognised",
            )
        )
    return GateRun(raw=raw, checked=checked)


def with_resource_identity(results: list[RawResult], documents: Sequence[Document]) -> list[RawResult]:
    """Trivy names a file and lines, not a resource: give each result the document holding its line."""
    by_path: dict[str, list[Document]] = {}
    for document in documents:
        if document.is_resource:
            by_path.setdefault(document.path, []).append(document)
    for result in results:
        location = result.location
        if location is None or location.kind or location.start_line is None:
            continue
        for document in by_path.get(location.path, []):
            if document.start_line <= location.start_line <= document.end_line:
                result.location = replace(location, kind=document.kind, namespace=document.namespace, name=document.name)
                break
    return results


def verdict_for(runs: Sequence[tuple[str, GateRun]], request: ScanRequest, targets: Sequence[str]) -> Verdict:
    """Fold named scan runs into a verdict, applying the profile and `.trivyignore.yaml`."""
    started = time.perf_counter()
    catalog = request.catalog or load_catalog()
    profile = with_trivyignore(request.profile, VulnerabilitySettings.from_profile(request.profile))
    context = GateContext(
        documents=(), profile=profile, catalog=catalog, root=request.root, today=request.today, targets=tuple(targets)
    )
    controls = load_controls()  # read once, not once per scan
    results = [
        GateResult(
            name,
            merge_equivalents([finding_from_raw(r, catalog, name, profile.environment) for r in run.raw], controls),
            documents=run.checked,
            skipped=run.skipped,
        )
        for name, run in runs
    ]
    return fold_verdict(results, context, started=started, documents=sum(run.checked for _, run in runs))
