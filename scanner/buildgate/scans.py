"""The build gate's scans (image, filesystem, secrets, IaC) folded into one verdict.

Each scan is one gate of the verdict (`vulnerability`, `secrets`, `iac`...)
so the reports read like `cdgate check`'s: the same finding factory, the same
waivers and exit codes (0 passed, 1 a gate failed, 2 could not evaluate). A
scan that checked nothing (an empty directory, no IaC file) is an error, not
a pass.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from scanner.buildgate.vulnerabilities import VulnerabilitySettings, drop_unfixed, with_trivyignore
from scanner.catalog import Catalog, load_catalog
from scanner.engines.base import Level, RawResult, SourceLocation
from scanner.engines.trivy import TrivyOptions, TrivyTarget
from scanner.findings import GateResult, Verdict
from scanner.gates.base import GateContext, GateRun
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

    settings = VulnerabilitySettings.from_profile(request.profile)
    raw = trivy.scan(image.trivy_target(), ["vuln"], request.trivy, request.root)
    if settings.ignore_unfixed:
        raw, _dropped = drop_unfixed(raw)
    return GateRun(raw=raw, checked=1)


def scan_filesystem(directory: Path, scanners: Sequence[str], request: ScanRequest) -> GateRun:
    """Trivy over a directory: vulnerabilities of lock files, secrets, or both."""
    from scanner.engines import trivy

    problem = _directory_problem(directory, "the filesystem scan")
    if problem is not None:
        return GateRun(raw=[problem])
    raw = trivy.scan(TrivyTarget("fs", str(directory)), scanners, request.trivy, request.root)
    if "vuln" in scanners and VulnerabilitySettings.from_profile(request.profile).ignore_unfixed:
        raw, _dropped = drop_unfixed(raw)
    return GateRun(raw=raw, checked=sum(1 for p in directory.rglob("*") if p.is_file()))


def scan_secrets(directory: Path, request: ScanRequest) -> GateRun:
    """Trivy's secret scanner over every file of a directory."""
    return scan_filesystem(directory, ["secret"], request)


def scan_iac(directory: Path, request: ScanRequest, *, use_checkov: bool = True) -> GateRun:
    """Trivy `config` and Checkov (Kubernetes, Dockerfile, GitHub Actions) over a directory.

    Checkov's Kubernetes checks also see every Helm chart under the directory,
    rendered by cdgate's own Helm code.
    """
    from scanner.engines import trivy

    problem = _directory_problem(directory, "the IaC scan")
    if problem is not None:
        return GateRun(raw=[problem])
    report: dict[str, object] | None = None
    raw: list[RawResult] = []
    try:
        report = trivy.scan_report(TrivyTarget("config", str(directory)), [], request.trivy)
    except trivy.TrivyFailure as failure:
        raw.append(trivy.error_result(TrivyTarget("config", str(directory)), failure))
    checked = 0
    if report is not None:
        raw += trivy.results_from_report(report, request.root, directory)
        checked += len(report.get("Results") or [])  # type: ignore[arg-type]
    if use_checkov:
        from scanner.engines import checkov

        result = checkov.scan_directory(directory, request.root, ("kubernetes", "dockerfile", "github_actions"))
        raw += result.results
        checked += result.resources
        charts = _rendered_charts(directory, request)
        raw += charts.raw
        checked += charts.checked
    if checked == 0 and not any(r.level is Level.ERROR for r in raw):
        raw.append(
            nothing_checked(
                "the IaC scan",
                str(directory),
                "no Kubernetes manifest, Helm chart, Dockerfile or workflow was recognised",
            )
        )
    return GateRun(raw=raw, checked=checked)


def _rendered_charts(directory: Path, request: ScanRequest) -> GateRun:
    """Checkov over every Helm chart below `directory`, rendered by cdgate (Checkov cannot render)."""
    charts = sorted({p.parent for p in directory.rglob("Chart.yaml")})
    if not charts:
        return GateRun()
    from scanner.engines import checkov
    from scanner.gates.results import raw_from_problem
    from scanner.inputs.loader import LoadOptions, load_targets

    loaded = load_targets([str(c) for c in charts], LoadOptions(root=request.root, mode="helm"))
    result = checkov.scan_documents(loaded.documents)
    return GateRun(raw=[raw_from_problem(p) for p in loaded.problems] + result.results, checked=result.resources)


def verdict_for(runs: Sequence[tuple[str, GateRun]], request: ScanRequest, targets: Sequence[str]) -> Verdict:
    """Fold named scan runs into a verdict, applying the profile and `.trivyignore.yaml`."""
    started = time.perf_counter()
    catalog = request.catalog or load_catalog()
    profile = with_trivyignore(request.profile, VulnerabilitySettings.from_profile(request.profile))
    context = GateContext(
        documents=(), profile=profile, catalog=catalog, root=request.root, today=request.today, targets=tuple(targets)
    )
    results = [
        GateResult(name, [finding_from_raw(r, catalog, name, profile.environment) for r in run.raw], documents=run.checked, skipped=run.skipped)
        for name, run in runs
    ]
    return fold_verdict(results, context, started=started, documents=sum(run.checked for _, run in runs))
