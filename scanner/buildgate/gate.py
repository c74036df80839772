"""`cdgate build-gate`: IaC, secrets and image vulnerabilities, an SBOM, a verdict, and signatures.

The image is resolved to a digest once; everything after refers to that
digest: the image is copied (digest-verified) into a temporary OCI layout,
Trivy scans and inventories the layout, and, when the verdict passed and a
key was given, the same digest is signed and gets three attestations: the
SBOM, the vulnerability report (`https://cosign.sigstore.dev/attestation/vuln/v1`)
and cdgate's gate verdict, which records the policy bundle and profile
digests in force so the merge gate can require them. A failed or errored
verdict signs nothing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.buildgate.scans import ImageSource, ScanRequest, scan_iac, scan_secrets, verdict_for, vulnerability_run
from scanner.engines import trivy
from scanner.findings import Verdict
from scanner.gates.base import GateRun
from scanner.supplychain.cosign import ImageTarget
from scanner.supplychain.intoto import PREDICATE_TYPES

VULN_PREDICATE = PREDICATE_TYPES["vuln"]
SBOM_PREDICATES = {"cyclonedx": PREDICATE_TYPES["cyclonedx"], "spdx-json": PREDICATE_TYPES["spdxjson"]}
TRIVY_URI = "pkg:github/aquasecurity/trivy"


@dataclass(frozen=True)
class BuildGateRequest:
    image: ImageTarget
    source: Path
    scan: ScanRequest
    sbom_format: str = "cyclonedx"


@dataclass
class BuildGateOutcome:
    """The verdict and what the attestations are made of."""

    verdict: Verdict
    digest: str
    sbom: dict[str, Any] | None = None
    vulnerability_report: dict[str, Any] | None = None
    scan_started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    scan_finished: dt.datetime | None = None
    attached: list[str] = field(default_factory=list)


def _image_scans(layout: Path, request: BuildGateRequest) -> tuple[GateRun, GateRun, dict[str, Any] | None, dict[str, Any] | None]:
    """(vulnerability run, sbom run, Trivy's vulnerability report, SBOM) for the copied image."""
    target = ImageSource(layout=layout).trivy_target()
    report: dict[str, Any] | None = None
    try:
        report = trivy.scan_report(target, ["vuln"], request.scan.trivy)
        vulnerabilities = vulnerability_run(report, target, request.scan.profile)
    except trivy.TrivyFailure as failure:
        vulnerabilities = GateRun(raw=[trivy.error_result(target, failure)])
    sbom: dict[str, Any] | None = None
    try:
        sbom = trivy.generate_sbom(target, request.sbom_format, request.scan.trivy)
        sbom_run = GateRun(checked=1)
    except trivy.TrivyFailure as failure:
        sbom_run = GateRun(raw=[trivy.error_result(target, failure)])
    return vulnerabilities, sbom_run, report, sbom


def run_build_gate(request: BuildGateRequest) -> BuildGateOutcome:
    """Scan the source and the image, build the SBOM, decide. Signs nothing."""
    from scanner.buildgate.image_copy import copy_to_layout

    started = dt.datetime.now(dt.timezone.utc)
    iac = scan_iac(request.source, request.scan)
    secrets = scan_secrets(request.source, request.scan)
    with tempfile.TemporaryDirectory(prefix="cdgate-image-") as temporary:
        layout = Path(temporary) / "layout"
        scanned = copy_to_layout(request.image.repository, request.image.digest, layout)
        vulnerabilities, sbom_run, report, sbom = _image_scans(layout, request)
    label = f"{request.image.subject_name}@{request.image.digest}"
    verdict = verdict_for(
        [("iac", iac), ("secrets", secrets), ("vulnerability", vulnerabilities), ("sbom", sbom_run)],
        request.scan,
        [str(request.source), label],
    )
    return BuildGateOutcome(
        verdict=verdict,
        digest=scanned,
        sbom=sbom,
        vulnerability_report=report,
        scan_started=started,
        scan_finished=dt.datetime.now(dt.timezone.utc),
    )


def vulnerability_predicate(outcome: BuildGateOutcome) -> dict[str, Any]:
    """cosign's vuln/v1 predicate: the scanner, its result (Trivy's JSON report) and when it ran."""
    version = str((outcome.vulnerability_report or {}).get("Trivy", {}).get("Version", "") or "")
    finished = outcome.scan_finished or outcome.scan_started
    return {
        "invocation": {"parameters": None, "uri": "", "event_id": "", "builder.id": "cdgate build-gate"},
        "scanner": {
            "uri": f"{TRIVY_URI}@{version}" if version else TRIVY_URI,
            "version": version,
            "db": {"uri": "", "version": ""},
            "result": outcome.vulnerability_report or {},
        },
        "metadata": {
            "scanStartedOn": outcome.scan_started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scanFinishedOn": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


def verdict_predicate(outcome: BuildGateOutcome, request: BuildGateRequest) -> dict[str, Any]:
    """cdgate's gate-verdict predicate with the policy bundle and profile digests in force."""
    from scanner.policy_bundle import policy_bundle_digest, profile_digest
    from scanner.supplychain.intoto import gate_verdict_predicate

    verdict = outcome.verdict
    profile = request.scan.profile
    return gate_verdict_predicate(
        verdict={0: "passed", 1: "failed"}.get(verdict.exit_code, "error"),
        counts=verdict.counts(),
        policy_bundle_digest=policy_bundle_digest(profile),
        profile_digest=profile_digest(profile),
        profile_name=profile.name,
        environment=profile.environment,
    )


def sign_and_attest(outcome: BuildGateOutcome, request: BuildGateRequest, private_key: Any) -> list[str]:
    """Sign the image and attach the SBOM, vulnerability and gate-verdict attestations.

    Only a passed verdict is signed: returns what was stored, one line each.
    """
    from scanner.supplychain.cosign import attest_image, sign_image
    from scanner.supplychain.intoto import GATE_VERDICT_PREDICATE

    if outcome.verdict.exit_code != 0 or outcome.sbom is None or outcome.vulnerability_report is None:
        return []
    target = request.image
    stored = [f"signature {sign_image(target, private_key)}"]
    for predicate_type, predicate in (
        (SBOM_PREDICATES[request.sbom_format], outcome.sbom),
        (VULN_PREDICATE, vulnerability_predicate(outcome)),
        (GATE_VERDICT_PREDICATE, verdict_predicate(outcome, request)),
    ):
        stored.append(f"attestation {predicate_type} {attest_image(target, private_key, predicate_type, predicate)}")
    outcome.attached = stored
    return stored
