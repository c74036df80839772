"""What cdgate writes, an independent implementation reads, and the reverse.

The other side is `interop/interop.js`: node:crypto (scrypt, ECDSA),
tweetnacl (nacl secretbox) and sigstore-js (@sigstore/bundle, @sigstore/verify
for bundles), written against cosign's formats. Needs `node` and
`npm ci --prefix tests/supplychain/interop` (make test runs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from scanner.supplychain import keys
from scanner.supplychain.blob import sign_blob, verify_blob
from scanner.supplychain.rekor import TlogPolicy

INTEROP = Path(__file__).resolve().parent / "interop"


@pytest.fixture(scope="module")
def node():
    if shutil.which("node") is None:
        pytest.skip("node is not installed (make test installs nodejs)")
    if not (INTEROP / "node_modules" / "@sigstore" / "verify").is_dir():
        pytest.skip("interop node modules missing: run `npm ci --prefix tests/supplychain/interop` (make test does)")

    def call(*args: str, ok: bool = True) -> dict:
        result = subprocess.run(["node", str(INTEROP / "interop.js"), *map(str, args)], capture_output=True, text=True, timeout=60)
        output = json.loads(result.stdout.strip().splitlines()[-1])
        assert (result.returncode == 0) is ok, output
        return output

    return call


def test_cdgate_key_decrypts_and_signs_elsewhere(node, tmp_path):
    key_path, pub_path = keys.write_key_pair(tmp_path / "cosign", b"interop pw")
    (tmp_path / "message").write_bytes(b"signed by node with a cdgate key")
    out = node("sign-with-key", key_path, "interop pw", tmp_path / "message")
    assert out["publicKey"].strip() == pub_path.read_text().strip()
    public = keys.load_public_key_file(pub_path)
    assert keys.verify_bytes(public, keys.b64decode(out["signature"]), b"signed by node with a cdgate key")
    node("sign-with-key", key_path, "wrong pw", tmp_path / "message", ok=False)


def test_key_written_elsewhere_signs_in_cdgate(node, tmp_path):
    node("write-key", tmp_path / "other", "pw")
    private = keys.load_private_key_file(tmp_path / "other.key", b"pw")
    public = keys.load_public_key_file(tmp_path / "other.pub")
    assert keys.verify_bytes(public, keys.sign_bytes(private, b"m"), b"m")


def test_cdgate_blob_signature_and_bundle_verify_with_sigstore_js(node, tmp_path, signing_key):
    artifact = tmp_path / "artifact.bin"
    artifact.write_bytes(b"\x00release\xff" * 100)
    signed = sign_blob(signing_key, artifact.read_bytes())
    (tmp_path / "artifact.sig").write_text(signed.signature_b64)
    (tmp_path / "artifact.sigstore.json").write_bytes(signed.bundle)
    (tmp_path / "cosign.pub").write_bytes(keys.public_key_pem(signing_key))
    node("verify-blob", tmp_path / "cosign.pub", tmp_path / "artifact.sig", artifact)
    out = node("verify-bundle", tmp_path / "cosign.pub", tmp_path / "artifact.sigstore.json", artifact)
    assert out == {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "content": "messageSignature"}
    artifact.write_bytes(artifact.read_bytes() + b"!")
    node("verify-blob", tmp_path / "cosign.pub", tmp_path / "artifact.sig", artifact, ok=False)
    node("verify-bundle", tmp_path / "cosign.pub", tmp_path / "artifact.sigstore.json", artifact, ok=False)


def test_node_signature_verifies_in_cdgate(node, tmp_path, signing_key):
    key_path, pub_path = keys.write_key_pair(tmp_path / "k", b"pw")
    (tmp_path / "blob").write_bytes(b"payload")
    signature = node("sign-with-key", key_path, "pw", tmp_path / "blob")["signature"]
    public = keys.load_public_key_file(pub_path)
    assert verify_blob(public, b"payload", signature_b64=signature, bundle=None, tlog=TlogPolicy()) == "signature"


@pytest.mark.registry
def test_image_signature_bundle_verifies_with_sigstore_js(node, tmp_path, signing_key, fresh_repo):
    from scanner.supplychain.cosign import ImageTarget, sign_image
    from supplychain.images import push_image

    reference, repo = fresh_repo
    digest = push_image(repo, "v1", {"app": b"js"})
    sign_image(ImageTarget(reference.with_digest(digest), repo, digest), signing_key)
    referrer = repo.get_manifest(repo.referrers(digest)[0]["digest"]).json
    (tmp_path / "bundle.json").write_bytes(repo.get_blob(referrer["layers"][0]["digest"]))
    (tmp_path / "cosign.pub").write_bytes(keys.public_key_pem(signing_key))
    out = node("verify-bundle", tmp_path / "cosign.pub", tmp_path / "bundle.json")
    assert out["content"] == "dsseEnvelope"
    envelope = json.loads((tmp_path / "bundle.json").read_text())["dsseEnvelope"]
    (tmp_path / "envelope.json").write_text(json.dumps(envelope))
    statement = node("verify-dsse", tmp_path / "cosign.pub", tmp_path / "envelope.json")["statement"]
    assert statement["subject"][0]["digest"]["sha256"] == digest.split(":")[1]
