"""Sign, attest and verify images in a real registry, both storage formats, and the attacks."""

from __future__ import annotations

import json

import pytest

from scanner.supplychain.cosign import (
    ImageTarget,
    TrustedKey,
    attest_image,
    legacy_tag,
    sign_image,
    verify_image_attestations,
    verify_image_signatures,
)
from scanner.supplychain.errors import RegistryError
from scanner.supplychain.intoto import COSIGN_SIGN_PREDICATE, resolve_predicate_type
from scanner.supplychain.rekor import TlogPolicy
from supplychain.images import push_image

pytestmark = pytest.mark.registry

FORMATS = [pytest.param(True, id="bundle-referrer"), pytest.param(False, id="legacy-tag")]
NO_TLOG = TlogPolicy()


def target_for(reference, repo, tag="v1", files=None):
    digest = push_image(repo, tag, files or {"app": tag.encode()})
    return ImageTarget(reference.with_digest(digest), repo, digest)


def trusted(key, name="cosign.pub"):
    return [TrustedKey(name, key.public_key())]


@pytest.mark.parametrize("new_format", FORMATS)
def test_sign_then_verify(fresh_repo, signing_key, new_format):
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    assert verify_image_signatures(target, trusted(signing_key), NO_TLOG).verified == []
    sign_image(target, signing_key, new_bundle_format=new_format)
    report = verify_image_signatures(target, trusted(signing_key), NO_TLOG)
    assert len(report.verified) == 1
    payload = json.loads(report.verified[0].payload)
    if new_format:
        assert payload["predicateType"] == COSIGN_SIGN_PREDICATE
        assert payload["subject"][0]["digest"]["sha256"] == target.digest.split(":")[1]
        assert report.verified[0].source.startswith("referrer sha256:")
    else:
        assert payload["critical"]["image"]["docker-manifest-digest"] == target.digest
        assert payload["critical"]["identity"]["docker-reference"] == reference.repository_name
        assert report.verified[0].source.startswith(f"tag {legacy_tag(target.digest, 'sig')}")


@pytest.mark.parametrize("new_format", FORMATS)
def test_wrong_key_does_not_verify(fresh_repo, signing_key, other_key, new_format):
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    sign_image(target, other_key, new_bundle_format=new_format)
    report = verify_image_signatures(target, trusted(signing_key), NO_TLOG)
    assert report.verified == []
    assert any("does not verify" in r for r in report.rejected)


def test_tampered_legacy_payload_fails(fresh_repo, signing_key):
    """Swap the signed payload for another one while keeping the signature annotation."""
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    sign_image(target, signing_key, new_bundle_format=False)
    tag = legacy_tag(target.digest, "sig")
    manifest = repo.get_manifest(tag).json
    original = repo.get_blob(manifest["layers"][0]["digest"])
    tampered = original.replace(b'"optional":null', b'"optional":{"evil":"1"}')
    assert tampered != original
    manifest["layers"][0]["digest"] = repo.put_blob(tampered)
    manifest["layers"][0]["size"] = len(tampered)
    repo.put_manifest(json.dumps(manifest).encode(), manifest["mediaType"], tag=tag)
    report = verify_image_signatures(target, trusted(signing_key), NO_TLOG)
    assert report.verified == []
    assert "does not verify" in report.rejected[0]


def test_tampered_bundle_payload_fails(registry, fresh_repo, signing_key):
    """Rewrite the bundle blob in the registry's storage: the digest check refuses it."""
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    sign_image(target, signing_key, new_bundle_format=True)
    entry = repo.referrers(target.digest)[0]
    layer = repo.get_manifest(entry["digest"]).json["layers"][0]
    path = registry.blob_data_path(layer["digest"])
    original = path.read_bytes()
    document = json.loads(original)
    document["dsseEnvelope"]["payload"] = document["dsseEnvelope"]["payload"][:-4] + "AAA="
    path.write_bytes(json.dumps(document).encode())
    try:
        with pytest.raises(RegistryError, match="does not match"):
            verify_image_signatures(target, trusted(signing_key), NO_TLOG)
    finally:
        path.write_bytes(original)


def test_bundle_with_altered_statement_pushed_honestly_fails(fresh_repo, signing_key):
    """Same attack, but the attacker pushes a new, correctly addressed blob and referrer."""
    from scanner.supplychain import cosign as cosign_mod
    from scanner.supplychain.bundle import dsse_bundle
    from scanner.supplychain.dsse import sign_envelope

    reference, repo = fresh_repo
    target = target_for(reference, repo)
    envelope = sign_envelope(signing_key, "application/vnd.in-toto+json", b'{"_type":"https://in-toto.io/Statement/v1"}')
    document = json.loads(dsse_bundle(signing_key.public_key(), envelope))
    statement = {"_type": "https://in-toto.io/Statement/v1", "predicateType": COSIGN_SIGN_PREDICATE, "subject": [{"name": "x", "digest": {"sha256": target.digest.split(":")[1]}}], "predicate": {}}
    import base64

    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    cosign_mod._push_bundle_referrer(target, json.dumps(document).encode(), COSIGN_SIGN_PREDICATE)
    report = verify_image_signatures(target, trusted(signing_key), NO_TLOG)
    assert report.verified == []
    assert any("does not verify" in r for r in report.rejected)


def test_signature_copied_from_another_digest_fails(fresh_repo, signing_key):
    reference, repo = fresh_repo
    signed = target_for(reference, repo, "v1")
    unsigned = target_for(reference, repo, "v2")
    sign_image(signed, signing_key, new_bundle_format=False)
    copied = repo.get_manifest(legacy_tag(signed.digest, "sig"))
    repo.put_manifest(copied.data, copied.media_type, tag=legacy_tag(unsigned.digest, "sig"))
    report = verify_image_signatures(unsigned, trusted(signing_key), NO_TLOG)
    assert report.verified == []
    assert any(f"signature is for {signed.digest}" in r for r in report.rejected)


def test_bundle_referrer_copied_into_another_digests_index_fails(fresh_repo, signing_key):
    reference, repo = fresh_repo
    signed = target_for(reference, repo, "v1")
    unsigned = target_for(reference, repo, "v2")
    sign_image(signed, signing_key, new_bundle_format=True)
    index = repo.get_manifest("sha256-" + signed.digest.split(":")[1])
    repo.put_manifest(index.data, index.media_type, tag="sha256-" + unsigned.digest.split(":")[1])
    assert repo.referrers(unsigned.digest)  # the index now lists the other image's referrer
    assert verify_image_signatures(unsigned, trusted(signing_key), NO_TLOG).verified == []


def test_tag_moved_after_signing_is_unsigned(fresh_repo, signing_key):
    reference, repo = fresh_repo
    first = target_for(reference, repo, "v1", {"app": b"reviewed"})
    sign_image(first, signing_key)
    moved = push_image(repo, "v1", {"app": b"swapped"})
    now = ImageTarget(reference.with_digest(moved), repo, repo.get_manifest("v1").digest)
    assert now.digest != first.digest
    assert verify_image_signatures(now, trusted(signing_key), NO_TLOG).verified == []
    assert verify_image_signatures(first, trusted(signing_key), NO_TLOG).verified


@pytest.mark.parametrize("new_format", FORMATS)
def test_attest_and_verify_by_type(fresh_repo, signing_key, new_format):
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    sbom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": "openssl", "version": "3.0.13"}]}
    attest_image(target, signing_key, resolve_predicate_type("cyclonedx"), sbom, new_bundle_format=new_format)
    sign_image(target, signing_key, new_bundle_format=new_format)
    report = verify_image_attestations(target, trusted(signing_key), NO_TLOG, resolve_predicate_type("cyclonedx"))
    assert [v.statement.predicate for v in report.verified] == [sbom]
    # a signature is not an attestation, and a missing type is missing
    assert verify_image_attestations(target, trusted(signing_key), NO_TLOG, resolve_predicate_type("vuln")).verified == []
    assert verify_image_attestations(target, trusted(signing_key), NO_TLOG, COSIGN_SIGN_PREDICATE).verified == []
    # and the image signature still verifies alongside
    assert len(verify_image_signatures(target, trusted(signing_key), NO_TLOG).verified) == 1


def test_missing_attestation(fresh_repo, signing_key):
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    sign_image(target, signing_key)
    report = verify_image_attestations(target, trusted(signing_key), NO_TLOG, resolve_predicate_type("spdxjson"))
    assert report.verified == [] and report.rejected == []


def test_attestation_by_untrusted_key_is_rejected(fresh_repo, signing_key, other_key):
    reference, repo = fresh_repo
    target = target_for(reference, repo)
    attest_image(target, other_key, resolve_predicate_type("vuln"), {"scanner": {"result": {}}}, new_bundle_format=False)
    report = verify_image_attestations(target, trusted(signing_key), NO_TLOG, resolve_predicate_type("vuln"))
    assert report.verified == []
    assert "does not verify" in report.rejected[0]


def test_registry_down_while_verifying(signing_key):
    import socket

    from scanner.supplychain.oci import RegistryOptions, open_repository
    from scanner.supplychain.reference import parse_reference

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    reference = parse_reference(f"{host}/app@sha256:" + "1" * 64)
    repo = open_repository(reference, RegistryOptions(insecure=frozenset({host}), timeout=2))
    with pytest.raises(RegistryError, match=host):
        verify_image_signatures(ImageTarget(reference, repo, reference.digest), trusted(signing_key), NO_TLOG)


def test_sign_and_verify_in_an_oci_layout(tmp_path, signing_key):
    from scanner.supplychain.oci import LayoutRepository
    from scanner.supplychain.reference import parse_reference

    layout = LayoutRepository(tmp_path / "layout", create=True)
    digest = push_image(layout, "v1", {"a": b"b"})
    target = ImageTarget(parse_reference(f"oci:{tmp_path / 'layout'}@{digest}"), layout, digest)
    sign_image(target, signing_key)
    attest_image(target, signing_key, resolve_predicate_type("spdxjson"), {"spdxVersion": "SPDX-2.3"}, new_bundle_format=False)
    assert len(verify_image_signatures(target, trusted(signing_key), NO_TLOG).verified) == 1
    assert len(verify_image_attestations(target, trusted(signing_key), NO_TLOG, "https://spdx.dev/Document").verified) == 1


def test_rekor_bundle_for_another_signature_proves_nothing(fresh_repo, signing_key, corpus):
    """A genuine, validly signed Rekor entry attached to our signature does not vouch for it."""
    from scanner.supplychain.cosign import REKOR_BUNDLE_ANNOTATION
    from scanner.supplychain.rekor import load_trusted_root

    reference, repo = fresh_repo
    target = target_for(reference, repo)
    sign_image(target, signing_key, new_bundle_format=False)
    tag = legacy_tag(target.digest, "sig")
    manifest = repo.get_manifest(tag).json
    rekor_bundle = (corpus / "rekor" / "signature-spec-example-bundle.json").read_text()
    manifest["layers"][0]["annotations"][REKOR_BUNDLE_ANNOTATION] = json.dumps(json.loads(rekor_bundle))
    repo.put_manifest(json.dumps(manifest).encode(), manifest["mediaType"], tag=tag)
    root = load_trusted_root(corpus / "trust" / "trusted-root-public-good.json")
    report = verify_image_signatures(target, trusted(signing_key), TlogPolicy(trusted_root=root))
    assert report.verified == []
    assert "records a different signature" in report.rejected[0]
    # without a trusted root the entry cannot be checked: that is a failure too, not a pass
    assert "no trusted root" in verify_image_signatures(target, trusted(signing_key), NO_TLOG).rejected[0]
    # skipping the log explicitly (cosign's --insecure-ignore-tlog) falls back to key trust
    assert verify_image_signatures(target, trusted(signing_key), TlogPolicy(ignore=True)).verified
    # and a policy that demands a log entry refuses a signature without one
    plain = target_for(reference, repo, "v2")
    sign_image(plain, signing_key)
    assert "requires one" in verify_image_signatures(plain, trusted(signing_key), TlogPolicy(require=True)).rejected[0]


def test_dangling_referrer_entry_does_not_block_verification(registry, fresh_repo, signing_key, other_key):
    """A referrer deleted after being listed in the tag index is skipped with a reason."""
    import httpx

    reference, repo = fresh_repo
    target = target_for(reference, repo)
    doomed = sign_image(target, other_key)
    sign_image(target, signing_key)
    deleted = httpx.delete(f"http://{registry.host}/v2/{reference.repository}/manifests/{doomed}")
    assert deleted.status_code == 202
    assert doomed in [e["digest"] for e in repo.referrers(target.digest)]
    report = verify_image_signatures(target, trusted(signing_key), NO_TLOG)
    assert len(report.verified) == 1
    assert any(doomed in r and "404" in r for r in report.rejected)
