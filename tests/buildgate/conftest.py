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
