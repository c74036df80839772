"""`cdgate build-gate`: scan a service's source and image, decide, and sign what passed."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from scanner.commands._common import fail_closed
from scanner.commands.scan import emit, report_options, scan_request


@click.command("build-gate")
@click.option("--image", "image", required=True, help="Image to gate: REGISTRY/REPO[:TAG|@sha256:...] or oci:DIR[:TAG].")
@click.option("--source", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="The service's source tree (IaC and secrets are scanned here).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="cosign.key: when the gate passes, sign the image and attach SBOM, vulnerability and gate-verdict attestations (password from COSIGN_PASSWORD).")
@click.option("--sbom-format", type=click.Choice(["cyclonedx", "spdx-json"]), default="cyclonedx", show_default=True)
@click.option("--allow-insecure-registry", is_flag=True, help="Allow plain HTTP to a loopback registry.")
@report_options
@fail_closed
def build_gate(image: str, source: Path, key: str | None, sbom_format: str, allow_insecure_registry: bool, trivy_cache_dir: Path | None, profile_path: Path | None, fmt: str, output: Path | None, output_dir: Path | None, root: Path | None, timeout_s: float, today: datetime.datetime | None) -> None:
    """Run IaC, secrets and image vulnerability scans and an SBOM; decide; with --key sign and attest.

    Exit codes: 0 passed (and, with --key, signed), 1 a gate failed (nothing
    is signed), 2 cdgate could not evaluate.
    """
    from scanner.buildgate.gate import BuildGateRequest, run_build_gate, sign_and_attest
    from scanner.commands.cosign import _private_key, _target

    private_key = _private_key(key) if key else None  # ask for the password before scanning
    target = _target(image, allow_insecure_registry, "gate")
    request = BuildGateRequest(target, source, scan_request(trivy_cache_dir, profile_path, root, timeout_s, today), sbom_format)
    outcome = run_build_gate(request)
    if private_key is not None:
        stored = sign_and_attest(outcome, request, private_key)
        if stored:
            for line in stored:
                click.echo(f"cdgate: pushed {line} to {target.subject_name}@{target.digest}", err=True)
        else:
            click.echo("cdgate: the gate did not pass: the image was not signed and nothing was attested", err=True)
    emit(outcome.verdict, fmt, output, output_dir)
