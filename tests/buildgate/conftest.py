"""Fixtures for the build gate: a Trivy database built by cdgate from `advisories.yaml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.vulndb.build import build_database, load_advisories

ADVISORIES = Path(__file__).with_name("advisories.yaml")


@pytest.fixture(scope="session")
def trivy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Trivy cache directory holding a database with the test advisories."""
    cache = tmp_path_factory.mktemp("trivy-cache")
    vulnerabilities, advisories = load_advisories(ADVISORIES)
    build_database(vulnerabilities, advisories, cache)
    return cache


@pytest.fixture
def scan_in_process(tmp_path: Path):
    """Run a build-gate scan in this process (Checkov's import is paid once per test worker).

    Returns (exit code, the JSON report as a dict), as `cdgate scan KIND DIR -f json` would.
    """
    import json

    from scanner.buildgate import scans
    from scanner.engines.trivy import TrivyOptions
    from scanner.profile import load_profile
    from scanner.report import render

    def run(kind: str, directory: Path, profile: Path | None = None) -> tuple[int, dict]:
        request = scans.ScanRequest(profile=load_profile(profile), root=tmp_path, trivy=TrivyOptions(cache_dir=tmp_path / "cache"))
        runner = {"iac": scans.scan_iac, "secrets": scans.scan_secrets}[kind]
        verdict = scans.verdict_for([(kind, runner(directory, request))], request, [str(directory)])
        return verdict.exit_code, json.loads(render(verdict, "json"))

    return run
