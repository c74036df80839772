"""Rekor transparency-log entries: signed entry timestamps against a trusted root.

A SignedEntryTimestamp (SET) is Rekor's ECDSA signature over the canonical
JSON `{"body", "integratedTime", "logID", "logIndex"}` (keys sorted, no
spaces; `body` the base64 entry body exactly as Rekor returned it, `logID`
hex). cdgate checks it against the log's key from a Sigstore trusted root
(`trusted_root.json`, the protobuf-specs JSON form), including the key's
validity window, and then checks that the entry's body records the signature
and artifact being verified, so a valid SET for something else proves nothing.
No network: entries come from bundles or cosign's bundle annotation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.supplychain.encoding import b64decode, canonical_json, digests_equal
from scanner.supplychain.errors import MalformedEvidence, VerificationFailed
from scanner.supplychain.keys import verify_bytes


@dataclass(frozen=True)
class TransparencyLog:
    log_id: str  # hex sha256 of the log's public key (DER)
    public_key: Any
    base_url: str
    valid_from: datetime | None
    valid_until: datetime | None

    def valid_at(self, when: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and (self.valid_until is None or when <= self.valid_until)


@dataclass(frozen=True)
class TrustedRoot:
    tlogs: tuple[TransparencyLog, ...]

    def log(self, log_id: str) -> TransparencyLog | None:
        for tlog in self.tlogs:
            if digests_equal(tlog.log_id, log_id.lower()):
                return tlog
        return None


def _timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    return datetime.fromisoformat(text)


def load_trusted_root(path: Path | str) -> TrustedRoot:
    """Read a Sigstore trusted root (`application/vnd.dev.sigstore.trustedroot+json`)."""
    from cryptography.hazmat.primitives import serialization

    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"cannot read trusted root: {exc}", path=str(path)) from None
    tlogs = []
    for entry in document.get("tlogs") or []:
        try:
            der = b64decode(entry["publicKey"]["rawBytes"], "tlog public key")
            key = serialization.load_der_public_key(der)
            window = entry["publicKey"].get("validFor") or {}
            computed = hashlib.sha256(der).hexdigest()
            declared = b64decode(entry["logId"]["keyId"], "tlog logId").hex()
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"trusted root has a malformed tlog entry: {exc}", path=str(path)) from None
        if declared != computed:
            raise InputError("trusted root tlog logId does not match its key", path=str(path))
        tlogs.append(TransparencyLog(computed, key, entry.get("baseUrl", ""), _timestamp(window.get("start")), _timestamp(window.get("end"))))
    if not tlogs:
        raise InputError("trusted root lists no transparency logs", path=str(path))
    return TrustedRoot(tuple(tlogs))


@dataclass(frozen=True)
class TlogEntry:
    """One Rekor entry as a bundle carries it; `body` is the base64 text as stored."""

    body: str
    integrated_time: int
    log_index: int
    log_id: str  # hex
    signed_entry_timestamp: bytes | None

    @property
    def body_json(self) -> dict[str, Any]:
        try:
            value = json.loads(b64decode(self.body, "tlog entry body"))
        except (ValueError, RecursionError):
            raise VerificationFailed("transparency log entry body is not base64 JSON") from None
        if not isinstance(value, dict):
            raise VerificationFailed("transparency log entry body is not a JSON object")
        return value


def entry_from_rekor_bundle(value: dict[str, Any]) -> TlogEntry:
    """cosign's `dev.sigstore.cosign/bundle` form: {SignedEntryTimestamp, Payload{...}}."""
    try:
        payload = value["Payload"]
        return TlogEntry(
            body=payload["body"],
            integrated_time=int(payload["integratedTime"]),
            log_index=int(payload["logIndex"]),
            log_id=str(payload["logID"]).lower(),
            signed_entry_timestamp=b64decode(value["SignedEntryTimestamp"], "SignedEntryTimestamp"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationFailed(f"Rekor bundle is malformed: {exc}") from None


def entry_from_bundle_tlog(value: dict[str, Any]) -> TlogEntry:
    """A Sigstore bundle's `verificationMaterial.tlogEntries[]` item."""
    try:
        promise = value.get("inclusionPromise") or {}
        set_b64 = promise.get("signedEntryTimestamp")
        return TlogEntry(
            body=value["canonicalizedBody"],
            integrated_time=int(value["integratedTime"]),
            log_index=int(value["logIndex"]),
            log_id=b64decode(value["logId"]["keyId"], "logId").hex(),
            signed_entry_timestamp=b64decode(set_b64, "signedEntryTimestamp") if set_b64 else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEvidence(f"bundle transparency log entry is malformed: {type(exc).__name__} {exc}") from None


def verify_set(entry: TlogEntry, root: TrustedRoot) -> TransparencyLog:
    """Check the entry's SET with the log key named by its logID; return that log."""
    if entry.signed_entry_timestamp is None:
        raise VerificationFailed("transparency log entry has no signed entry timestamp (inclusion promise)")
    log = root.log(entry.log_id)
    if log is None:
        raise VerificationFailed(f"transparency log {entry.log_id[:16]}... is not in the trusted root")
    when = datetime.fromtimestamp(entry.integrated_time, tz=timezone.utc)
    if not log.valid_at(when):
        raise VerificationFailed(f"transparency log key was not valid at the entry's time {when.isoformat()}")
    message = canonical_json(
        {"body": entry.body, "integratedTime": entry.integrated_time, "logID": entry.log_id, "logIndex": entry.log_index}
    )
    if not verify_bytes(log.public_key, entry.signed_entry_timestamp, message):
        raise VerificationFailed("signed entry timestamp does not verify with the transparency log's key")
    return log


def _same_b64(a: Any, b: bytes) -> bool:
    try:
        return isinstance(a, str) and digests_equal(b64decode(a).hex(), b.hex())
    except ValueError:
        return False


def check_body_records(entry: TlogEntry, *, signature: bytes, sha256_hex: str | None = None, dsse_payload: bytes | None = None) -> None:
    """Check that the entry body records this signature and artifact.

    hashedrekord and rekord: `spec.signature.content` and `spec.data.hash`; intoto 0.0.2
    and dsse: the envelope signature and the payload hash.
    """
    body = entry.body_json
    kind, spec = body.get("kind"), body.get("spec") or {}
    if kind in ("hashedrekord", "rekord"):
        recorded_sig = ((spec.get("signature") or {}).get("content"))
        recorded_hash = (((spec.get("data") or {}).get("hash")) or {}).get("value", "")
        if not _same_b64(recorded_sig, signature):
            raise VerificationFailed("transparency log entry records a different signature")
        if sha256_hex is not None and not digests_equal(str(recorded_hash).lower(), sha256_hex):
            raise VerificationFailed("transparency log entry records a different artifact digest")
        return
    if kind in ("intoto", "dsse"):
        if kind == "intoto":
            content = spec.get("content") or {}
            sigs = [s.get("sig") for s in ((content.get("envelope") or {}).get("signatures") or [])]
            # intoto v0.0.2 stores the envelope's base64 signature base64-encoded again
            decoded = []
            for s in sigs:
                try:
                    decoded.append(b64decode(s).decode())
                except (ValueError, UnicodeDecodeError):
                    continue
            recorded_sigs = decoded
            payload_hash = ((content.get("payloadHash") or {}).get("value"))
        else:
            recorded_sigs = [s.get("signature") for s in (spec.get("signatures") or [])]
            payload_hash = ((spec.get("payloadHash") or {}).get("value"))
        if not any(_same_b64(s, signature) for s in recorded_sigs):
            raise VerificationFailed("transparency log entry records a different envelope signature")
        if dsse_payload is not None and not digests_equal(str(payload_hash).lower(), hashlib.sha256(dsse_payload).hexdigest()):
            raise VerificationFailed("transparency log entry records a different payload")
        return
    raise VerificationFailed(f"transparency log entry kind {kind!r} is not one cdgate can match to a signature")


@dataclass(frozen=True)
class TlogPolicy:
    """What to demand of transparency-log evidence when verifying.

    cdgate signs offline, so by default a signature without a Rekor entry is
    accepted (key trust alone), and an entry that is present must verify
    against `trusted_root`. `require` demands an entry; `ignore` skips them
    (cosign's `--insecure-ignore-tlog`).
    """

    trusted_root: TrustedRoot | None = None
    require: bool = False
    ignore: bool = False


def check_tlog(
    entries: list[TlogEntry],
    policy: TlogPolicy,
    *,
    signature: bytes,
    sha256_hex: str | None = None,
    dsse_payload: bytes | None = None,
) -> list[TlogEntry]:
    """Apply `policy` to the entries of one signature; return the entries that verified."""
    if policy.ignore:
        return []
    if not entries:
        if policy.require:
            raise VerificationFailed("no transparency log entry, and the policy requires one")
        return []
    if policy.trusted_root is None:
        raise VerificationFailed(
            "the signature carries a transparency log entry but no trusted root was given "
            "(pass --trusted-root, or --insecure-ignore-tlog to skip it)"
        )
    for entry in entries:
        verify_set(entry, policy.trusted_root)
        check_body_records(entry, signature=signature, sha256_hex=sha256_hex, dsse_payload=dsse_payload)
    return entries
