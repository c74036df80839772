"""DSSE envelopes: the signed wrapper around in-toto statements.

The signature covers PAE(payloadType, payload) =
`"DSSEv1" SP len(type) SP type SP len(payload) SP payload` (lengths in ASCII
decimal), never the JSON of the envelope, so the envelope may be re-encoded
freely while the payload bytes stay exactly as signed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scanner.supplychain.encoding import b64decode, b64encode
from scanner.supplychain.errors import VerificationFailed
from scanner.supplychain.keys import PrivateKey, PublicKey, sign_bytes, verify_bytes

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """Pre-authentication encoding of DSSE v1."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class DsseSignature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes  # decoded: exactly the bytes that were signed inside PAE
    signatures: tuple[DsseSignature, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": b64encode(self.payload),
            "signatures": [{"keyid": s.keyid, "sig": b64encode(s.sig)} for s in self.signatures],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()


def parse_envelope(value: bytes | str | dict[str, Any]) -> Envelope:
    """Parse an envelope from JSON bytes or an already-decoded mapping."""
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise VerificationFailed("DSSE envelope is not JSON") from None
    if not isinstance(value, dict):
        raise VerificationFailed("DSSE envelope is not a JSON object")
    payload_type, payload, signatures = value.get("payloadType"), value.get("payload"), value.get("signatures")
    if not isinstance(payload_type, str) or not isinstance(payload, str) or not isinstance(signatures, list):
        raise VerificationFailed("DSSE envelope lacks payloadType, payload or signatures")
    try:
        decoded = b64decode(payload, "DSSE payload")
        sigs = tuple(
            DsseSignature(str(s.get("keyid") or ""), b64decode(s.get("sig", ""), "DSSE signature"))
            for s in signatures
            if isinstance(s, dict)
        )
    except ValueError as exc:
        raise VerificationFailed(str(exc)) from None
    if not sigs:
        raise VerificationFailed("DSSE envelope has no signatures")
    return Envelope(payload_type, decoded, sigs)


def sign_envelope(private_key: PrivateKey, payload_type: str, payload: bytes, keyid: str = "") -> Envelope:
    """Sign `payload` the DSSE way (cosign leaves keyid empty for key pairs)."""
    return Envelope(payload_type, payload, (DsseSignature(keyid, sign_bytes(private_key, pae(payload_type, payload))),))


def envelope_verifies(envelope: Envelope, public_key: PublicKey) -> bool:
    """True when any signature in the envelope verifies with `public_key`."""
    message = pae(envelope.payload_type, envelope.payload)
    return any(verify_bytes(public_key, s.sig, message) for s in envelope.signatures)
