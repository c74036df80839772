"""`cdgate build-gate --key` against the local registry: a signature and three attestations that
`cdgate verify-attestation` and the independent Node reader (tests/supplychain/interop) both verify."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from buildgate.conftest import ADVISORIES
from buildgate.images import ALPINE_FILES, DEBIAN_FILES
from scanner.policy_bundle import policy_bundle_digest, profile_digest
from scanner.profile import load_profile
from scanner.supplychain import keys
from scanner.vulndb.build import build_database, load_advisories
from supplychain.images import push_image

pytestmark = [pytest.mark.registry, pytest.mark.slow]

INTEROP = Path(__file__).resolve().parent / "interop"
PASSWORD = "build gate pw"
CLEAN_SOURCE = {
    "Dockerfile": "FROM python:3.11.9-slim@sha256:" + "b" * 64 + "\nRUN useradd --uid 10001 app\nUSER 10001\n"
    "HEALTHCHECK CMD [\"true\"]\nCMD [\"python\", \"-m\", \"app\"]\n",
    "app.py": "print('hello')\n",
}
# The alpine image's musl (HIGH) and lodash (HIGH) are accepted; requests (MEDIUM) is below fail_on.
ACCEPTING_PROFILE = """name: build
waivers:
  - {rule: CVE-2099-1001, resource: {kind: Package, name: musl}, reason: iconv unused, owner: platform, expires: "2099-01-01"}
  - {rule: CVE-2099-4001, resource: {kind: Package, name: lodash}, reason: build-time only, owner: web, expires: "2099-01-01"}
"""


@pytest.fixture(scope="module")
def trivy_db(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("trivy-db")
    build_database(*load_advisories(ADVISORIES), cache)
    return cache


def _source(tmp_path: Path) -> Path:
    source = tmp_path / "service"
    source.mkdir()
    for name, text in CLEAN_SOURCE.items():
        (source / name).write_text(text)
    return source


def _gate(cdgate, tmp_path, image, source, trivy_db, *extra):
    report = tmp_path / "verdict.json"
    result = cdgate(
        "build-gate", "--image", image, "--source", str(source), "--trivy-cache-dir", str(trivy_db),
        "--allow-insecure-registry", "-f", "json", "-o", str(report), *extra,
        cwd=tmp_path, env={"COSIGN_PASSWORD": PASSWORD},
    )
    return result, json.loads(report.read_text()) if report.exists() else None


def test_build_gate_signs_and_attests_what_passed(cdgate, tmp_path, fresh_repo, trivy_db):
    reference, repo = fresh_repo
    digest = push_image(repo, "v1", ALPINE_FILES)
    key_path, pub_path = keys.write_key_pair(tmp_path / "cosign", PASSWORD.encode())
    profile = tmp_path / "gate.yaml"
    profile.write_text(ACCEPTING_PROFILE)
    image = f"{reference.repository_name}@{digest}"

    result, verdict = _gate(cdgate, tmp_path, image, _source(tmp_path), trivy_db, "--key", str(key_path), "--profile", str(profile))
    assert result.returncode == 0, result.stderr
    assert {g["name"]: g["passed"] for g in verdict["gates"]} == {"iac": True, "secrets": True, "vulnerability": True, "sbom": True}
    assert {f["rule_id"] for f in verdict["findings"] if f["engine"] == "trivy" and f["rule_id"].startswith("CVE")} == {
        "CVE-2099-1001", "CVE-2099-3001", "CVE-2099-4001"}
    assert result.stderr.count("cdgate: pushed") == 4

    common = ("--key", str(pub_path), "--allow-insecure-registry", image)
    signed = cdgate("verify", *common)
    assert signed.returncode == 0, signed.stderr
    statements = {}
    for kind in ("cyclonedx", "vuln", "gate-verdict"):
        verified = cdgate("verify-attestation", "--type", kind, *common)
        assert verified.returncode == 0, verified.stderr
        envelope = json.loads(verified.stdout.strip().splitlines()[0])
        statements[kind] = json.loads(keys.b64decode(envelope["payload"]))
    sbom = statements["cyclonedx"]["predicate"]
    assert {("musl", "1.2.4_git20230717-r4"), ("requests", "2.31.0")} <= {(c["name"], c.get("version")) for c in sbom["components"]}
    vuln = statements["vuln"]["predicate"]
    assert vuln["scanner"]["uri"] == "pkg:github/aquasecurity/trivy@0.76.0"
    found = {v["VulnerabilityID"] for r in vuln["scanner"]["result"]["Results"] for v in r.get("Vulnerabilities") or []}
    assert found == {"CVE-2099-1001", "CVE-2099-3001", "CVE-2099-4001"}
    gate = statements["gate-verdict"]["predicate"]
    loaded = load_profile(profile)
    assert gate["verdict"] == "passed"
    assert "sha256:" + gate["policyBundle"]["digest"]["sha256"] == policy_bundle_digest(loaded)
    assert "sha256:" + gate["profile"]["digest"]["sha256"] == profile_digest(loaded)
    assert statements["gate-verdict"]["subject"][0]["digest"]["sha256"] == digest.split(":")[1]

    _verify_with_node(tmp_path, repo, digest, pub_path)


def _verify_with_node(tmp_path: Path, repo, digest: str, pub_path: Path) -> None:
    if shutil.which("node") is None or not (INTEROP / "node_modules" / "@sigstore" / "verify").is_dir():
        pytest.skip("node or the interop modules are missing (make test installs them)")
    predicate_types = []
    referrers = repo.referrers(digest)
    assert len(referrers) == 4
    for index, entry in enumerate(referrers):
        manifest = repo.get_manifest(entry["digest"]).json
        bundle = tmp_path / f"bundle{index}.json"
        bundle.write_bytes(repo.get_blob(manifest["layers"][0]["digest"]))
        envelope = tmp_path / f"envelope{index}.json"
        envelope.write_text(json.dumps(json.loads(bundle.read_text())["dsseEnvelope"]))
        for command in (["verify-bundle", pub_path, bundle], ["verify-dsse", pub_path, envelope]):
            out = subprocess.run(["node", str(INTEROP / "interop.js"), *map(str, command)], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stdout
        statement = json.loads(out.stdout.strip().splitlines()[-1])["statement"]
        assert statement["subject"][0]["digest"]["sha256"] == digest.split(":")[1]
        predicate_types.append(statement["predicateType"])
    assert sorted(predicate_types) == sorted([
        "https://sigstore.dev/cosign/sign/v1", "https://cyclonedx.org/bom",
        "https://cosign.sigstore.dev/attestation/vuln/v1", "https://cdgate.dev/attestation/gate-verdict/v1"])


def test_build_gate_that_fails_signs_nothing(cdgate, tmp_path, fresh_repo, trivy_db):
    reference, repo = fresh_repo
    digest = push_image(repo, "v1", DEBIAN_FILES)  # a CRITICAL openssl CVE, not accepted
    key_path, _ = keys.write_key_pair(tmp_path / "cosign", PASSWORD.encode())
    source = _source(tmp_path)
    (source / "deploy.env").write_text("AWS_ACCESS_KEY_ID=AKIAZ7QW3RT5YU2IOPLA\n")
    result, verdict = _gate(cdgate, tmp_path, f"{reference.repository_name}@{digest}", source, trivy_db, "--key", str(key_path))
    assert result.returncode == 1
    assert {g["name"]: g["passed"] for g in verdict["gates"]} == {"iac": True, "secrets": False, "vulnerability": False, "sbom": True}
    assert "CVE-2099-2001" in {f["rule_id"] for f in verdict["findings"]}
    [secret] = [f for f in verdict["findings"] if f["gate"] == "secrets"]
    assert secret["location"]["path"] == "service/deploy.env" and secret["location"]["start_line"] == 1
    assert "was not signed" in result.stderr
    assert repo.referrers(digest) == []


def test_policy_bundle_digest_follows_team_policies(tmp_path):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "team.rego").write_text("package main\n\ndeny contains msg if { false; msg := \"x\" }\n")
    profile_file = tmp_path / "gate.yaml"
    profile_file.write_text("rego:\n  policies: [policies]\n")
    before = policy_bundle_digest(load_profile(profile_file))
    assert before == policy_bundle_digest(load_profile(profile_file))
    (policies / "team.rego").write_text("package main\n\ndeny contains msg if { true; msg := \"y\" }\n")
    assert policy_bundle_digest(load_profile(profile_file)) != before
    assert before != policy_bundle_digest(load_profile(None))


def test_scan_and_sbom_of_a_registry_image_pull_it_through_cdgate(cdgate, tmp_path, fresh_repo, trivy_db):
    reference, repo = fresh_repo
    digest = push_image(repo, "v1", ALPINE_FILES)
    image = f"{reference.repository_name}:v1"
    scanned = cdgate("scan", "image", image, "--allow-insecure-registry", "--trivy-cache-dir", str(trivy_db), "-f", "json", cwd=tmp_path)
    assert scanned.returncode == 1, scanned.stderr
    assert {f["rule_id"] for f in json.loads(scanned.stdout)["findings"]} == {"CVE-2099-1001", "CVE-2099-3001", "CVE-2099-4001"}
    out = tmp_path / "sbom.spdx.json"
    sbom = cdgate("sbom", image, "--image", "--allow-insecure-registry", "-f", "spdx-json", "-o", str(out), "--trivy-cache-dir", str(tmp_path / "c"))
    assert sbom.returncode == 0, sbom.stderr
    assert {"musl", "lodash", "requests"} <= {p["name"] for p in json.loads(out.read_text())["packages"]}
    refused = cdgate("scan", "image", f"{reference.repository_name}@{digest}", "--trivy-cache-dir", str(trivy_db), cwd=tmp_path)
    assert refused.returncode == 2  # plain HTTP only when asked for
