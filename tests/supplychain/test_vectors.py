"""Interop: every vector cosign/sigstore tooling wrote, with what must hold, plus tampered copies.

The vectors live in ../shared/corpus/cosign (read in place). Each test also
breaks the vector (a flipped byte, another key, another artifact) and checks
that verification then fails, so a verifier that says yes to everything
cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from scanner.supplychain import bundle as bundles
from scanner.supplychain import dsse, keys, rekor
from scanner.supplychain.errors import KeyFileError, VerificationFailed
from supplychain.conftest import CORPUS


def _vectors() -> list[dict]:
    path = CORPUS / "vectors.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text())["vectors"]


VECTORS = _vectors()
KNOWN_EXPECTATIONS = {
    "load",
    "reject-not-pkcs8",
    "load-and-match-public-key",
    "signature-valid",
    "signature-valid-over-recorded-sha256",
    "dsse-valid-and-set-valid",
    "set-valid",
}


def by_kind(kind: str) -> list[dict]:
    return [v for v in VECTORS if v["kind"] == kind]


def ids(vectors: list[dict]) -> list[str]:
    return [v["id"] for v in vectors]


def flip_b64(text: str, index: int = 10) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.fixture(scope="module")
def trusted_root(corpus):
    return rekor.load_trusted_root(corpus / "trust" / "trusted-root-public-good.json")


def test_corpus_lists_every_kind_we_handle(corpus):
    kinds = {v["kind"] for v in VECTORS}
    assert kinds == {"encrypted-private-key", "dsse-envelope", "hashedrekord-entry", "sigstore-bundle", "rekor-bundle"}
    assert {v["expect"] for v in VECTORS} <= KNOWN_EXPECTATIONS
    assert len(VECTORS) == 14


# --- encrypted keys -------------------------------------------------------------------


@pytest.mark.parametrize("vector", by_kind("encrypted-private-key"), ids=ids(by_kind("encrypted-private-key")))
def test_encrypted_key(vector, corpus):
    path = corpus / vector["key"]
    password = vector["password"].encode()
    if vector["expect"] == "reject-not-pkcs8":
        with pytest.raises(KeyFileError, match="not PKCS#8"):
            keys.load_private_key_file(path, password)
        return
    key = keys.load_private_key_file(path, password)
    # the loaded key signs, and its own public key verifies that signature
    signature = keys.sign_bytes(key, b"cdgate interop")
    assert keys.verify_bytes(key.public_key(), signature, b"cdgate interop")
    if vector["expect"] == "load-and-match-public-key":
        published = keys.load_public_key_file(corpus / vector["public_key"])
        assert keys.public_key_der(published) == keys.public_key_der(key)
        assert keys.verify_bytes(published, signature, b"cdgate interop")
    # tampered: the wrong password and a flipped ciphertext byte are both refused
    with pytest.raises(KeyFileError, match="wrong password"):
        keys.load_private_key_file(path, password + b"x")
    block = keys.parse_pem(path.read_bytes())[0]
    document = json.loads(block.der)
    document["ciphertext"] = flip_b64(document["ciphertext"])
    tampered = keys.encode_pem(block.label, json.dumps(document).encode())
    with pytest.raises(KeyFileError, match="wrong password or corrupted"):
        keys.decrypt_private_key(tampered, password)


# --- DSSE envelopes -----------------------------------------------------------------


@pytest.mark.parametrize("vector", by_kind("dsse-envelope"), ids=ids(by_kind("dsse-envelope")))
def test_dsse_envelope(vector, corpus):
    assert vector["expect"] == "signature-valid"
    raw = (corpus / vector["envelope"]).read_bytes()
    public_key = keys.load_public_key_file(corpus / vector["public_key"])
    envelope = dsse.parse_envelope(raw)
    assert envelope.payload_type == dsse.INTOTO_PAYLOAD_TYPE
    assert dsse.envelope_verifies(envelope, public_key)
    # tampered payload (one byte of the statement), tampered signature, another key
    document = json.loads(raw)
    payload = bytearray(base64.b64decode(document["payload"]))
    payload[-3] ^= 0x01
    changed = dict(document, payload=base64.b64encode(bytes(payload)).decode())
    assert not dsse.envelope_verifies(dsse.parse_envelope(changed), public_key)
    changed = dict(document, signatures=[{"keyid": "", "sig": flip_b64(document["signatures"][0]["sig"], 40)}])
    assert not dsse.envelope_verifies(dsse.parse_envelope(changed), public_key)
    changed = dict(document, payloadType="application/json")
    assert not dsse.envelope_verifies(dsse.parse_envelope(changed), public_key)
    assert not dsse.envelope_verifies(envelope, keys.generate_private_key().public_key())


def test_dsse_pae_matches_the_spec_example():
    # The DSSE spec's worked example: PAE("http://example.com/HelloWorld", "hello world")
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


# --- hashedrekord -------------------------------------------------------------------


@pytest.mark.parametrize("vector", by_kind("hashedrekord-entry"), ids=ids(by_kind("hashedrekord-entry")))
def test_hashedrekord_entry(vector, corpus):
    assert vector["expect"] == "signature-valid-over-recorded-sha256"
    body = json.loads((corpus / vector["entry"]).read_bytes())
    spec = body["spec"]
    public_key = keys.load_public_key(base64.b64decode(spec["signature"]["publicKey"]["content"]))
    signature = base64.b64decode(spec["signature"]["content"])
    digest = bytes.fromhex(spec["data"]["hash"]["value"])
    assert keys.verify_prehashed(public_key, signature, digest)
    wrong = bytearray(digest)
    wrong[0] ^= 0x80
    assert not keys.verify_prehashed(public_key, signature, bytes(wrong))
    assert not keys.verify_prehashed(keys.generate_private_key().public_key(), signature, digest)


# --- Sigstore bundles ---------------------------------------------------------------


@pytest.mark.parametrize("vector", by_kind("sigstore-bundle"), ids=ids(by_kind("sigstore-bundle")))
def test_sigstore_bundle(vector, corpus, trusted_root):
    raw = (corpus / vector["bundle"]).read_bytes()
    public_key = keys.load_public_key_file(corpus / vector["public_key"])
    policy = rekor.TlogPolicy(trusted_root=trusted_root)
    parsed = bundles.parse_bundle(raw)
    if vector["expect"] == "signature-valid":
        artifact = (corpus / vector["artifact"]).read_bytes()
        bundles.verify_message_bundle(parsed, public_key, hashlib.sha256(artifact).digest(), policy)
        assert parsed.key_hint == keys.key_hint(public_key)
        with pytest.raises(VerificationFailed, match="different artifact"):
            bundles.verify_message_bundle(parsed, public_key, hashlib.sha256(artifact + b"!").digest(), policy)
        document = json.loads(raw)
        document["messageSignature"]["signature"] = flip_b64(document["messageSignature"]["signature"], 30)
        with pytest.raises(VerificationFailed, match="does not verify"):
            bundles.verify_message_bundle(bundles.parse_bundle(document), public_key, hashlib.sha256(artifact).digest(), policy)
        return
    assert vector["expect"] == "dsse-valid-and-set-valid"
    assert len(parsed.tlog_entries) == 1
    envelope = bundles.verify_dsse_bundle(parsed, public_key, policy)
    assert json.loads(envelope.payload)["predicateType"].startswith("https://")
    # without a trusted root the Rekor entry cannot be trusted, and cdgate says so
    with pytest.raises(VerificationFailed, match="no trusted root"):
        bundles.verify_dsse_bundle(parsed, public_key, rekor.TlogPolicy())
    # a tampered SET fails; a tampered envelope payload fails
    document = json.loads(raw)
    entry = document["verificationMaterial"]["tlogEntries"][0]
    entry["inclusionPromise"]["signedEntryTimestamp"] = flip_b64(entry["inclusionPromise"]["signedEntryTimestamp"], 40)
    with pytest.raises(VerificationFailed, match="signed entry timestamp"):
        bundles.verify_dsse_bundle(bundles.parse_bundle(document), public_key, policy)
    document = json.loads(raw)
    entry = document["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    with pytest.raises(VerificationFailed, match="signed entry timestamp"):
        bundles.verify_dsse_bundle(bundles.parse_bundle(document), public_key, policy)
    document = json.loads(raw)
    payload = bytearray(base64.b64decode(document["dsseEnvelope"]["payload"]))
    payload[5] ^= 0x01
    document["dsseEnvelope"]["payload"] = base64.b64encode(bytes(payload)).decode()
    with pytest.raises(VerificationFailed, match="does not verify"):
        bundles.verify_dsse_bundle(bundles.parse_bundle(document), public_key, policy)


# --- Rekor bundles (SET) -----------------------------------------------------------


@pytest.mark.parametrize("vector", by_kind("rekor-bundle"), ids=ids(by_kind("rekor-bundle")))
def test_rekor_bundle_set(vector, corpus, trusted_root):
    assert vector["expect"] == "set-valid"
    document = json.loads((corpus / vector["bundle"]).read_bytes())
    log = rekor.verify_set(rekor.entry_from_rekor_bundle(document), trusted_root)
    assert log.base_url.startswith("https://")
    for field, change in (
        ("logIndex", lambda v: v + 1),
        ("integratedTime", lambda v: v - 1),
        ("body", lambda v: v[:-8] + ("A" if v[-8] != "A" else "B") + v[-7:]),
    ):
        tampered = json.loads(json.dumps(document))
        tampered["Payload"][field] = change(tampered["Payload"][field])
        with pytest.raises(VerificationFailed):
            rekor.verify_set(rekor.entry_from_rekor_bundle(tampered), trusted_root)
    tampered = json.loads(json.dumps(document))
    tampered["Payload"]["logID"] = "00" * 32
    with pytest.raises(VerificationFailed, match="not in the trusted root"):
        rekor.verify_set(rekor.entry_from_rekor_bundle(tampered), trusted_root)


def test_set_outside_the_keys_validity_window_fails(corpus, trusted_root):
    document = json.loads((corpus / "rekor" / "signature-spec-example-bundle.json").read_bytes())
    entry = rekor.entry_from_rekor_bundle(document)
    early = rekor.TlogEntry(entry.body, 1_500_000_000, entry.log_index, entry.log_id, entry.signed_entry_timestamp)
    with pytest.raises(VerificationFailed, match="not valid at"):
        rekor.verify_set(early, trusted_root)
