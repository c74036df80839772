"""The cosign-compatible commands, run as a user runs them: the `cdgate` CLI and its exit codes."""

from __future__ import annotations

import base64
import json
import stat

import pytest
from click.testing import CliRunner

from scanner.cli import main
from supplychain.images import push_image


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", "correct horse")
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def key_pair(run, tmp_path):
    result = run("generate-key-pair")
    assert result.exit_code == 0, result.output
    return tmp_path / "cosign.key", tmp_path / "cosign.pub"


def test_generate_key_pair_writes_mode_0600_and_never_prints_the_password(run, tmp_path):
    result = run("generate-key-pair", "--output-key-prefix", "release")
    assert result.exit_code == 0
    assert "correct horse" not in result.output
    assert stat.S_IMODE((tmp_path / "release.key").stat().st_mode) == 0o600
    assert b"ENCRYPTED SIGSTORE PRIVATE KEY" in (tmp_path / "release.key").read_bytes()
    assert b"correct horse" not in (tmp_path / "release.key").read_bytes()
    assert run("generate-key-pair", "--output-key-prefix", "release").exit_code == 2


def test_no_password_and_no_terminal_is_an_error(run, monkeypatch):
    monkeypatch.delenv("COSIGN_PASSWORD")
    result = run("generate-key-pair")
    assert result.exit_code == 2
    assert "COSIGN_PASSWORD" in result.output


def test_sign_blob_and_verify_blob(run, key_pair, tmp_path):
    (tmp_path / "artifact.tgz").write_bytes(b"release bits")
    result = run("sign-blob", "--key", "cosign.key", "--output-signature", "artifact.sig", "--bundle", "artifact.bundle", "artifact.tgz")
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "artifact.bundle").read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert run("verify-blob", "--key", "cosign.pub", "--signature", "artifact.sig", "artifact.tgz").exit_code == 0
    assert run("verify-blob", "--key", "cosign.pub", "--bundle", "artifact.bundle", "artifact.tgz").exit_code == 0
    (tmp_path / "artifact.tgz").write_bytes(b"release bits!")
    tampered = run("verify-blob", "--key", "cosign.pub", "--signature", "artifact.sig", "artifact.tgz")
    assert tampered.exit_code == 1 and "invalid signature" in tampered.output
    assert run("verify-blob", "--key", "cosign.pub", "--bundle", "artifact.bundle", "artifact.tgz").exit_code == 1


def test_sign_blob_prints_the_signature_and_legacy_bundle(run, key_pair, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    result = run("sign-blob", "--key", "cosign.key", "--new-bundle-format=false", "--bundle", "old.json", "f")
    assert result.exit_code == 0
    signature = result.stdout.strip()
    assert json.loads((tmp_path / "old.json").read_text()) == {"base64Signature": signature}
    assert run("verify-blob", "--key", "cosign.pub", "--signature", signature, "f").exit_code == 0
    assert run("verify-blob", "--key", "cosign.pub", "--bundle", "old.json", "f").exit_code == 0


def test_tlog_upload_is_refused_rather_than_silently_skipped(run, key_pair, tmp_path):
    (tmp_path / "f").write_bytes(b"x")
    result = run("sign-blob", "--key", "cosign.key", "--tlog-upload=true", "f")
    assert result.exit_code == 2 and "--tlog-upload=false" in result.output


def test_verify_blob_with_a_cosign_made_bundle(run, corpus):
    result = run(
        "verify-blob",
        "--key", str(corpus / "bundles" / "public-key-validity.pem"),
        "--bundle", str(corpus / "bundles" / "public-key-validity.sigstore.json"),
        str(corpus / "bundles" / "public-key-validity.artifact"),
    )
    assert result.exit_code == 0, result.output


def test_wrong_password_exits_2(run, key_pair, tmp_path, monkeypatch):
    (tmp_path / "f").write_bytes(b"x")
    monkeypatch.setenv("COSIGN_PASSWORD", "pa55-zebra")
    result = run("sign-blob", "--key", "cosign.key", "f")
    assert result.exit_code == 2 and "wrong password" in result.output
    assert "pa55-zebra" not in result.output


@pytest.mark.registry
def test_image_session(run, key_pair, registry, registry_options, tmp_path):
    """The README session: sign, verify, attest an SBOM, verify it, and a tampered case."""
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    image = f"{registry.host}/cli/app"
    repo = open_repository(parse_reference(image + ":v1"), registry_options)
    digest = push_image(repo, "v1", {"app": b"cli"})
    pinned = f"{image}@{digest}"
    http = "--allow-insecure-registry"

    assert run("verify", "--key", "cosign.pub", http, pinned).exit_code == 1
    assert run("sign", "--key", "cosign.key", http, pinned).exit_code == 0
    verified = run("verify", "--key", "cosign.pub", http, pinned)
    assert verified.exit_code == 0, verified.output
    payloads = json.loads(verified.stdout.strip().splitlines()[-1])
    assert [p["subject"][0]["digest"]["sha256"] for p in payloads] == [digest.split(":")[1]]

    (tmp_path / "sbom.json").write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}))
    assert run("attest", "--key", "cosign.key", "--type", "cyclonedx", "--predicate", "sbom.json", http, pinned).exit_code == 0
    attested = run("verify-attestation", "--key", "cosign.pub", "--type", "cyclonedx", http, pinned)
    assert attested.exit_code == 0, attested.output
    envelope = json.loads(attested.stdout.strip().splitlines()[-1])
    assert envelope["payloadType"] == "application/vnd.in-toto+json" and envelope["signatures"][0]["sig"]
    assert json.loads(base64.b64decode(envelope["payload"]))["predicate"]["bomFormat"] == "CycloneDX"
    assert run("verify-attestation", "--key", "cosign.pub", "--type", "vuln", http, pinned).exit_code == 1

    (tmp_path / "policy.rego").write_text('package cdgate.attestation\n\ndeny contains "SBOM lists no components" if count(input.components) == 0\n')
    denied = run("verify-attestation", "--key", "cosign.pub", "--type", "cyclonedx", "--policy", "policy.rego", http, pinned)
    assert denied.exit_code == 1 and "SBOM lists no components" in denied.output

    # the tag moves to other content: verifying by tag now fails
    push_image(repo, "v1", {"app": b"evil"})
    moved = run("verify", "--key", "cosign.pub", http, f"{image}:v1")
    assert moved.exit_code == 1 and "no valid signatures" in moved.output


def test_registry_down_exits_2(run, key_pair):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    result = run("verify", "--key", "cosign.pub", "--allow-insecure-registry", f"{host}/app:v1")
    assert result.exit_code == 2 and host in result.output
