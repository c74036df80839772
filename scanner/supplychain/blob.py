"""`sign-blob` / `verify-blob`: signatures over files, in cosign's formats.

The signature is base64 ASN.1 ECDSA over SHA-256 of the file. `--bundle`
writes a Sigstore bundle v0.3 (`messageSignature`); `verify-blob` reads that
and cosign's older local bundle `{"base64Signature", "cert", "rekorBundle"}`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from scanner.supplychain.bundle import BUNDLE_MEDIA_TYPES, message_bundle, parse_bundle, verify_message_bundle
from scanner.supplychain.encoding import b64decode, b64encode
from scanner.supplychain.errors import MalformedEvidence, VerificationFailed
from scanner.supplychain.keys import PrivateKey, PublicKey, sign_bytes, verify_bytes
from scanner.supplychain.rekor import TlogPolicy, check_tlog, entry_from_rekor_bundle


@dataclass(frozen=True)
class BlobSignature:
    signature_b64: str
    bundle: bytes | None


def sign_blob(private_key: PrivateKey, data: bytes, *, new_bundle_format: bool = True) -> BlobSignature:
    signature = sign_bytes(private_key, data)
    if new_bundle_format:
        bundle = message_bundle(private_key.public_key(), hashlib.sha256(data).digest(), signature)
    else:
        bundle = json.dumps({"base64Signature": b64encode(signature)}).encode()
    return BlobSignature(b64encode(signature), bundle)


def verify_blob(public_key: PublicKey, data: bytes, *, signature_b64: str | None, bundle: bytes | None, tlog: TlogPolicy) -> str:
    """Verify; return which evidence verified ("signature", "bundle"). Raise VerificationFailed."""
    if signature_b64 is None and bundle is None:
        raise VerificationFailed("nothing to verify: pass --signature or --bundle")
    digest = hashlib.sha256(data).digest()
    if bundle is not None:
        try:
            document = json.loads(bundle)
        except (ValueError, RecursionError):
            raise MalformedEvidence("bundle is not JSON") from None
        if isinstance(document, dict) and document.get("mediaType") in BUNDLE_MEDIA_TYPES:
            verify_message_bundle(parse_bundle(document), public_key, digest, tlog)
            if signature_b64 is not None:
                _check_signature(public_key, data, signature_b64)
            return "bundle"
        if not isinstance(document, dict) or "base64Signature" not in document:
            raise MalformedEvidence("bundle is neither a Sigstore bundle nor a cosign local bundle")
        signature = _check_signature(public_key, data, document["base64Signature"])
        entries = [entry_from_rekor_bundle(document["rekorBundle"])] if document.get("rekorBundle") else []
        check_tlog(entries, tlog, signature=signature, sha256_hex=digest.hex())
        return "bundle"
    _check_signature(public_key, data, signature_b64 or "")
    check_tlog([], tlog, signature=b"")
    return "signature"


def _check_signature(public_key: PublicKey, data: bytes, signature_b64: str) -> bytes:
    try:
        if not isinstance(signature_b64, str):
            raise ValueError(f"signature must be a base64 string, not {type(signature_b64).__name__}")
        signature = b64decode(signature_b64, "signature")
    except ValueError as exc:
        raise MalformedEvidence(str(exc)) from None
    if not verify_bytes(public_key, signature, data):
        raise VerificationFailed("invalid signature: it does not verify with the given key over this file")
    return signature
