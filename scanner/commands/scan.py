"""`cdgate scan`, `cdgate sbom` and `cdgate vulndb`: the build gate's scanners, offline.

Every scan prints and writes the same reports as `cdgate check` and exits the
same way: 0 passed, 1 a gate failed, 2 cdgate could not evaluate.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, TypeVar

import click

from scanner.commands._common import fail_closed
from scanner.report import FORMATS

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "cdgate" / "trivy"


def report_options(func: F) -> F:
    """The options every scan command shares."""
    options = [
        click.option("--trivy-cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Trivy cache and vulnerability database directory (holds db/trivy.db). Default: ~/.cache/cdgate/trivy."),
        click.option("--profile", "profile_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="gate.yaml (fail_on, waivers, gates.vulnerability)."),
        click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Format printed on stdout, or written to -o."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the -f report to this file (atomically)."),
        click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="Also write every report format into this directory (as `cdgate check --output-dir`)."),
        click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Directory report paths are relative to (default: the current directory)."),
        click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=300, show_default=True, help="Seconds each Trivy call may take."),
        click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Judge waiver expiry as of this date."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def scan_request(trivy_cache_dir: Path | None, profile_path: Path | None, root: Path | None, timeout_s: float, today: datetime.datetime | None) -> Any:
    from scanner.buildgate.scans import ScanRequest
    from scanner.engines.trivy import TrivyOptions
    from scanner.profile import load_profile

    cache_dir = (trivy_cache_dir or DEFAULT_CACHE_DIR).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    return ScanRequest(
        profile=load_profile(profile_path),
        root=(root or Path.cwd()).resolve(),
        trivy=TrivyOptions(cache_dir=cache_dir, timeout_s=timeout_s),
        today=today.date() if today else datetime.date.today(),
    )


def emit(verdict: Any, fmt: str, output: Path | None, output_dir: Path | None = None) -> NoReturn:
    """Print or write the report (and every format into `output_dir`), say the verdict on stderr, exit with its code."""
    from scanner.commands._output import deliver
    from scanner.report._common import verdict_line

    deliver(verdict, fmt, output, output_dir)
    if output is not None or fmt != "table":
        click.echo(f"cdgate: {verdict_line(verdict)}", err=True)
    sys.exit(verdict.exit_code)


@click.group("scan")
def scan() -> None:
    """Scan an image, a directory's files, its secrets or its IaC (Trivy and Checkov, offline).

    Exit codes: 0 passed, 1 a gate failed, 2 cdgate could not evaluate.
    """


@scan.command("image")
@click.argument("reference", required=False)
@click.option("--input", "tarball", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A `docker save` tarball.")
@click.option("--layout", type=click.Path(exists=True, file_okay=False, path_type=Path), help="An OCI image layout directory.")
@click.option("--allow-insecure-registry", is_flag=True, help="Allow plain HTTP to a loopback registry.")
@report_options
@fail_closed
def scan_image(reference: str | None, tarball: Path | None, layout: Path | None, allow_insecure_registry: bool, trivy_cache_dir: Path | None, profile_path: Path | None, fmt: str, output: Path | None, output_dir: Path | None, root: Path | None, timeout_s: float, today: datetime.datetime | None) -> None:
    """Scan an image's OS and language packages for vulnerabilities: REF, --input TAR or --layout DIR."""
    from scanner.buildgate.scans import ImageSource, scan_vulnerabilities, verdict_for
    from scanner.errors import ConfigError

    if sum(x is not None for x in (reference, tarball, layout)) != 1:
        raise ConfigError("give exactly one of REF, --input TAR or --layout DIR")
    request = scan_request(trivy_cache_dir, profile_path, root, timeout_s, today)
    if reference is None:
        image = ImageSource(None, tarball, layout)
        run, label = scan_vulnerabilities(image, request), image.label
    else:
        from scanner.buildgate.image_copy import pulled_layout

        with pulled_layout(reference, insecure=allow_insecure_registry) as copied:  # cdgate pulls; Trivy stays offline
            run, label = scan_vulnerabilities(ImageSource(layout=copied), request), reference
    emit(verdict_for([("vulnerability", run)], request, [label]), fmt, output, output_dir)


def _directory_command(name: str, gate: str, summary: str) -> None:
    @scan.command(name, help=summary)
    @click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @report_options
    @fail_closed
    def command(directory: Path, trivy_cache_dir: Path | None, profile_path: Path | None, fmt: str, output: Path | None, output_dir: Path | None, root: Path | None, timeout_s: float, today: datetime.datetime | None) -> None:
        from scanner.buildgate import scans

        request = scan_request(trivy_cache_dir, profile_path, root, timeout_s, today)
        if name == "fs":
            run = scans.scan_filesystem(directory, ["vuln", "secret"], request)
        elif name == "secrets":
            run = scans.scan_secrets(directory, request)
        else:
            run = scans.scan_iac(directory, request)
        emit(scans.verdict_for([(gate, run)], request, [str(directory)]), fmt, output, output_dir)


_directory_command("fs", "filesystem", "Scan DIR's lock files for vulnerabilities and its files for secrets.")
_directory_command("secrets", "secrets", "Scan every file under DIR for secrets (keys, tokens, passwords).")
_directory_command("iac", "iac", "Check DIR's Kubernetes manifests, Helm charts, Dockerfiles and workflows (Trivy config + Checkov).")


@click.command("sbom")
@click.argument("target")
@click.option("-f", "--format", "sbom_format", type=click.Choice(["cyclonedx", "spdx-json"]), default="cyclonedx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the SBOM here (atomically) instead of stdout.")
@click.option("--image", "as_image", is_flag=True, help="TARGET is an image reference even though a file of that name exists.")
@click.option("--allow-insecure-registry", is_flag=True, help="Allow plain HTTP to a loopback registry.")
@click.option("--trivy-cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Trivy cache directory.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=300, show_default=True)
@fail_closed
def sbom(target: str, sbom_format: str, output: Path | None, as_image: bool, allow_insecure_registry: bool, trivy_cache_dir: Path | None, timeout_s: float) -> None:
    """Write an SBOM of TARGET: a directory, an OCI layout, a `docker save` tar or an image reference."""
    import json

    from scanner.buildgate.sbom import sbom_target
    from scanner.engines.trivy import TrivyFailure, TrivyOptions, generate_sbom
    from scanner.errors import EngineError
    from scanner.report.atomic import atomic_write_text

    cache_dir = (trivy_cache_dir or DEFAULT_CACHE_DIR).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    trivy_target = sbom_target(target, as_image)
    options = TrivyOptions(cache_dir=cache_dir, timeout_s=timeout_s)
    try:
        if trivy_target.command == "image" and not trivy_target.input_path:
            from scanner.buildgate.image_copy import pulled_layout
            from scanner.engines.trivy import TrivyTarget

            with pulled_layout(target, insecure=allow_insecure_registry) as copied:  # cdgate pulls; Trivy stays offline
                document = generate_sbom(TrivyTarget("image", str(copied), input_path=True), sbom_format, options)
        else:
            document = generate_sbom(trivy_target, sbom_format, options)
    except TrivyFailure as failure:
        if failure.stderr:
            click.echo(failure.stderr.rstrip(), err=True)
        raise EngineError(f"Trivy could not write an SBOM of {target}: {failure.message}", hint=failure.hint) from None
    text = json.dumps(document, indent=2) + "\n"
    if output is not None:
        atomic_write_text(output, text)
        click.echo(f"cdgate: wrote {sbom_format} SBOM of {target} to {output}", err=True)
    else:
        click.echo(text, nl=False)


@click.group("vulndb")
def vulndb() -> None:
    """Build a Trivy vulnerability database offline (for air-gapped scans and tests)."""


@vulndb.command("build")
@click.argument("advisories", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Trivy cache directory to write db/trivy.db into (then scan with --trivy-cache-dir DIR).")
@fail_closed
def vulndb_build(advisories: Path, cache_dir: Path) -> None:
    """Write a Trivy database holding the advisories in ADVISORIES (YAML)."""
    from scanner.vulndb.build import build_database, load_advisories

    vulnerabilities, entries = load_advisories(advisories)
    directory = build_database(vulnerabilities, entries, cache_dir)
    click.echo(f"cdgate: wrote {len(entries)} advisories for {len(vulnerabilities)} vulnerabilities to {directory}", err=True)
