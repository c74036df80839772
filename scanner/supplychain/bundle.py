"""Sigstore bundles (v0.1 to v0.3): read any, write v0.3.

A bundle holds one signature and what is needed to trust it offline:
`verificationMaterial` (here a public-key hint, optionally Rekor entries) and
either `messageSignature` (a signature over an artifact's SHA-256) or
`dsseEnvelope` (a DSSE-signed in-toto statement). cdgate verifies keyed
bundles: the caller supplies the public key; certificates are not trusted
on their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scanner.supplychain.dsse import Envelope, envelope_verifies, parse_envelope
from scanner.supplychain.encoding import b64decode, b64encode, digests_equal
from scanner.supplychain.errors import MalformedEvidence, VerificationFailed
from scanner.supplychain.keys import PrivateKey, PublicKey, key_hint, verify_prehashed
from scanner.supplychain.rekor import TlogEntry, TlogPolicy, check_tlog, entry_from_bundle_tlog

BUNDLE_V01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
BUNDLE_V02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPES = (BUNDLE_V01, BUNDLE_V02, BUNDLE_V03, "application/vnd.dev.sigstore.bundle+json;version=0.3")
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class MessageSignature:
    digest: bytes  # SHA-256 of the artifact, as recorded
    signature: bytes


@dataclass(frozen=True)
class Bundle:
    media_type: str
    key_hint: str | None
    tlog_entries: tuple[TlogEntry, ...]
    message_signature: MessageSignature | None = None
    envelope: Envelope | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def content(self) -> str:
        return "dsse-envelope" if self.envelope is not None else "message-signature"


def parse_bundle(data: bytes | dict[str, Any]) -> Bundle:
    """Parse bundle JSON; raise VerificationFailed when it is not a usable bundle."""
    if isinstance(data, (bytes, str)):
        if len(data) > MAX_BUNDLE_BYTES:
            raise MalformedEvidence("bundle is too large")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedEvidence("bundle is not JSON") from None
    if not isinstance(data, dict) or data.get("mediaType") not in BUNDLE_MEDIA_TYPES:
        media_type = data.get("mediaType") if isinstance(data, dict) else None
        raise MalformedEvidence(f"not a Sigstore bundle (mediaType {str(media_type)[:80]!r})")
    material = _object(data, "verificationMaterial")
    tlog_entries = material.get("tlogEntries") or []
    if not isinstance(tlog_entries, list):
        raise MalformedEvidence("bundle field verificationMaterial.tlogEntries must be a list")
    entries = tuple(entry_from_bundle_tlog(e) for e in tlog_entries)
    hint = _object(material, "publicKey", "verificationMaterial.").get("hint")
    message = envelope = None
    if "messageSignature" in data:
        ms = _object(data, "messageSignature")
        digest = _object(ms, "messageDigest", "messageSignature.")
        if digest.get("algorithm") not in ("SHA2_256", None):
            raise MalformedEvidence(f"bundle message digest algorithm {str(digest.get('algorithm'))[:40]!r} is not SHA2_256")
        try:
            message = MessageSignature(
                b64decode(_text(digest, "digest", "messageSignature.messageDigest."), "message digest"),
                b64decode(_text(ms, "signature", "messageSignature."), "signature"),
            )
        except ValueError as exc:
            raise MalformedEvidence(f"bundle {exc}") from None
    elif "dsseEnvelope" in data:
        envelope = parse_envelope(data["dsseEnvelope"])
    else:
        raise MalformedEvidence("bundle has neither messageSignature nor dsseEnvelope")
    return Bundle(data["mediaType"], hint if isinstance(hint, str) else None, entries, message, envelope, data)


def _object(parent: dict[str, Any], key: str, prefix: str = "") -> dict[str, Any]:
    """`parent[key]` when it is a JSON object (absent or null: empty), else MalformedEvidence."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvidence(f"bundle field {prefix}{key} must be a JSON object, not {type(value).__name__}")
    return value


def _text(parent: dict[str, Any], key: str, prefix: str) -> str:
    value = parent.get(key, "")
    if not isinstance(value, str):
        raise MalformedEvidence(f"bundle field {prefix}{key} must be a base64 string, not {type(value).__name__}")
    return value


def _material(public_key: PublicKey) -> dict[str, Any]:
    return {"publicKey": {"hint": key_hint(public_key)}, "tlogEntries": []}


def message_bundle(public_key: PublicKey, sha256_digest: bytes, signature: bytes) -> bytes:
    """A v0.3 bundle for a signature over an artifact (what `sign-blob --bundle` writes)."""
    document = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": _material(public_key),
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64encode(sha256_digest)},
            "signature": b64encode(signature),
        },
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def dsse_bundle(public_key: PublicKey, envelope: Envelope) -> bytes:
    """A v0.3 bundle around a DSSE envelope (image signatures and attestations)."""
    document = {"mediaType": BUNDLE_V03, "verificationMaterial": _material(public_key), "dsseEnvelope": envelope.to_dict()}
    return json.dumps(document, separators=(",", ":")).encode()


def verify_message_bundle(bundle: Bundle, public_key: PublicKey, artifact_sha256: bytes, tlog: TlogPolicy) -> None:
    """Check a messageSignature bundle against the artifact's SHA-256 and the key."""
    if bundle.message_signature is None:
        raise VerificationFailed("bundle holds a DSSE envelope, not a message signature")
    ms = bundle.message_signature
    if not digests_equal(ms.digest.hex(), artifact_sha256.hex()):
        raise VerificationFailed("bundle was made for a different artifact (digest mismatch)")
    if not verify_prehashed(public_key, ms.signature, artifact_sha256):
        raise VerificationFailed("bundle signature does not verify with the given key")
    check_tlog(list(bundle.tlog_entries), tlog, signature=ms.signature, sha256_hex=artifact_sha256.hex())


def verify_dsse_bundle(bundle: Bundle, public_key: PublicKey, tlog: TlogPolicy) -> Envelope:
    """Check a dsseEnvelope bundle's signature and tlog evidence; return the envelope."""
    if bundle.envelope is None:
        raise VerificationFailed("bundle holds a message signature, not a DSSE envelope")
    if not envelope_verifies(bundle.envelope, public_key):
        raise VerificationFailed("DSSE envelope signature does not verify with the given key")
    if tlog.ignore or not bundle.tlog_entries:
        check_tlog([], tlog, signature=bundle.envelope.signatures[0].sig)
        return bundle.envelope
    failure: VerificationFailed | None = None
    for sig in bundle.envelope.signatures:  # the entry must record one of the envelope's signatures
        try:
            check_tlog(list(bundle.tlog_entries), tlog, signature=sig.sig, dsse_payload=bundle.envelope.payload)
            return bundle.envelope
        except VerificationFailed as exc:
            failure = exc
    raise failure or VerificationFailed("no envelope signature is recorded in the transparency log")
