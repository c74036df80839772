"""Image signatures and attestations, stored the two ways cosign stores them.

Legacy (cosign v1/v2): a signature image at tag `sha256-<hex>.sig` whose
layers are simple-signing payloads with the signature in the annotation
`dev.cosignproject.cosign/signature` (and a Rekor bundle in
`dev.sigstore.cosign/bundle` when one was made); attestations likewise at
`sha256-<hex>.att`, one DSSE envelope per layer.

Current (cosign v3 default): a Sigstore bundle v0.3 as an OCI 1.1 referrer
of the image (`artifactType` the bundle media type, `subject` the image),
listed by the referrers API or the `sha256-<hex>` fallback tag index. Image
signatures are DSSE in-toto statements of predicate type
`https://sigstore.dev/cosign/sign/v1`.

Verification reads blobs by digest (each checked), verifies signatures over
the stored bytes, and only then parses them; a signature counts only when
its payload names the very digest being verified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from scanner.supplychain.bundle import BUNDLE_V03, dsse_bundle, parse_bundle, verify_dsse_bundle
from scanner.supplychain.dsse import DSSE_MEDIA_TYPE, INTOTO_PAYLOAD_TYPE, envelope_verifies, parse_envelope, sign_envelope
from scanner.supplychain.encoding import b64decode, b64encode, digest_hex, digests_equal
from scanner.supplychain.errors import RegistryError, VerificationFailed
from scanner.supplychain.intoto import COSIGN_SIGN_PREDICATE, STATEMENT_V1, Statement, make_statement, parse_statement
from scanner.supplychain.keys import PrivateKey, PublicKey, sign_bytes, verify_bytes
from scanner.supplychain.oci import (
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_MANIFEST,
    Manifest,
    NotFound,
    Repository,
    descriptor_for,
)
from scanner.supplychain.reference import Reference
from scanner.supplychain.rekor import TlogEntry, TlogPolicy, check_tlog, entry_from_rekor_bundle
from scanner.supplychain.simplesigning import SIMPLE_SIGNING_MEDIA_TYPE, make_payload, parse_payload

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
PREDICATE_TYPE_ANNOTATION = "predicateType"
BUNDLE_CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
CREATED_ANNOTATION = "org.opencontainers.image.created"
TITLE_ANNOTATION = "org.opencontainers.image.title"
MAX_LAYERS = 256


@dataclass(frozen=True)
class ImageTarget:
    """An image resolved to its digest, and the repository it lives in."""

    reference: Reference
    repository: Repository
    digest: str

    @property
    def subject_name(self) -> str:
        return self.reference.repository_name


@dataclass(frozen=True)
class TrustedKey:
    """A public key and a name for it (its file) for messages."""

    name: str
    key: Any


@dataclass(frozen=True)
class Verified:
    """One signature or attestation that verified."""

    source: str  # "tag sha256-<hex>.sig", "referrer sha256:..."
    key_name: str
    payload: bytes  # the signed bytes as stored (simple signing or statement)
    statement: Statement | None = None
    envelope: Any = None  # the DSSE envelope, for attestations and v3 signatures


@dataclass
class VerificationReport:
    """What verified, and why every other candidate did not."""

    verified: list[Verified] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def require(self, what: str) -> list[Verified]:
        if self.verified:
            return self.verified
        reasons = "; ".join(self.rejected) if self.rejected else "none found"
        raise VerificationFailed(f"no valid {what}: {reasons}")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def legacy_tag(digest: str, suffix: str) -> str:
    return f"sha256-{digest_hex(digest)}.{suffix}"


# --- writing -------------------------------------------------------------------------


def _push_legacy_layer(target: ImageTarget, suffix: str, layer_data: bytes, media_type: str, annotations: dict[str, str]) -> str:
    """Append one layer to the `.sig`/`.att` image of `target` (creating it if absent)."""
    repo = target.repository
    tag = legacy_tag(target.digest, suffix)
    layers: list[dict[str, Any]] = []
    try:
        layers = list(repo.get_manifest(tag).json.get("layers") or [])
    except NotFound:
        pass
    layer_digest = repo.put_blob(layer_data)
    new_layer = {"mediaType": media_type, "size": len(layer_data), "digest": layer_digest, "annotations": annotations}
    layers = [l for l in layers if not (l.get("digest") == layer_digest and l.get("annotations") == annotations)]
    layers.append(new_layer)
    config = json.dumps(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layers],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
            "config": {},
        },
        separators=(",", ":"),
    ).encode()
    repo.put_blob(config)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor_for(config, OCI_CONFIG), "layers": layers}
    data = json.dumps(manifest, separators=(",", ":")).encode()
    return repo.put_manifest(data, OCI_MANIFEST, tag=tag)


def _push_bundle_referrer(target: ImageTarget, bundle_data: bytes, predicate_type: str) -> str:
    """Attach a bundle as an OCI 1.1 referrer of `target`; return the referrer's digest."""
    repo = target.repository
    subject = repo.get_manifest(target.digest)
    bundle_digest = repo.put_blob(bundle_data)
    repo.put_blob(EMPTY_JSON)
    annotations = {
        BUNDLE_CONTENT_ANNOTATION: "dsse-envelope",
        BUNDLE_PREDICATE_ANNOTATION: predicate_type,
        CREATED_ANNOTATION: _now(),
    }
    layer = descriptor_for(bundle_data, BUNDLE_V03, annotations={TITLE_ANNOTATION: f"sha256-{digest_hex(bundle_digest)}.sigstore.json"})
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_V03,
        "config": descriptor_for(EMPTY_JSON, OCI_EMPTY),
        "layers": [layer],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.data)},
        "annotations": annotations,
    }
    data = json.dumps(manifest, separators=(",", ":")).encode()
    digest = repo.put_manifest(data, OCI_MANIFEST)
    repo.add_referrer(target.digest, Manifest(data, OCI_MANIFEST, digest), BUNDLE_V03, annotations)
    return digest


def sign_image(target: ImageTarget, private_key: PrivateKey, *, new_bundle_format: bool = True, annotations: dict[str, str] | None = None) -> str:
    """Sign `target` and store the signature; return the digest of what was stored."""
    if new_bundle_format:
        statement = make_statement(target.subject_name, target.digest, COSIGN_SIGN_PREDICATE, annotations or {}, version=STATEMENT_V1)
        envelope = sign_envelope(private_key, INTOTO_PAYLOAD_TYPE, statement)
        return _push_bundle_referrer(target, dsse_bundle(private_key.public_key(), envelope), COSIGN_SIGN_PREDICATE)
    payload = make_payload(target.subject_name, target.digest, annotations)
    signature = sign_bytes(private_key, payload)
    return _push_legacy_layer(target, "sig", payload, SIMPLE_SIGNING_MEDIA_TYPE, {SIGNATURE_ANNOTATION: b64encode(signature)})


def attest_image(target: ImageTarget, private_key: PrivateKey, predicate_type: str, predicate: Any, *, new_bundle_format: bool = True) -> str:
    """Sign an in-toto statement about `target` and attach it; return the stored digest."""
    version = STATEMENT_V1 if new_bundle_format else "https://in-toto.io/Statement/v0.1"
    statement = make_statement(target.subject_name, target.digest, predicate_type, predicate, version=version)
    envelope = sign_envelope(private_key, INTOTO_PAYLOAD_TYPE, statement)
    if new_bundle_format:
        return _push_bundle_referrer(target, dsse_bundle(private_key.public_key(), envelope), predicate_type)
    annotations = {SIGNATURE_ANNOTATION: "", PREDICATE_TYPE_ANNOTATION: predicate_type}
    return _push_legacy_layer(target, "att", envelope.to_json(), DSSE_MEDIA_TYPE, annotations)


# --- reading -------------------------------------------------------------------------


def _legacy_layers(target: ImageTarget, suffix: str) -> list[dict[str, Any]]:
    try:
        manifest = target.repository.get_manifest(legacy_tag(target.digest, suffix))
    except NotFound:
        return []
    layers = manifest.json.get("layers") or []
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise RegistryError(f"{target.repository.name}: signature image {legacy_tag(target.digest, suffix)} has a malformed layer list")
    return [l for l in layers if isinstance(l, dict) and isinstance(l.get("digest"), str)]


def _rekor_entries(annotations: dict[str, Any]) -> list[TlogEntry]:
    raw = annotations.get(REKOR_BUNDLE_ANNOTATION)
    if not raw:
        return []
    try:
        return [entry_from_rekor_bundle(json.loads(raw))]
    except (ValueError, RecursionError):
        raise VerificationFailed("the dev.sigstore.cosign/bundle annotation is not JSON") from None


def _bundles(target: ImageTarget, report: VerificationReport, *, signatures: bool, predicate_type: str | None = None) -> list[tuple[str, bytes]]:
    """(source, bundle bytes) for every bundle referrer whose manifest names `target`.

    The index's predicate-type annotation only narrows the search (signatures
    or attestations); what counts is the signed statement inside. A listed
    referrer that no longer exists is a rejected candidate, not a registry
    failure (anyone who can push could otherwise block verification).
    """
    out = []
    repo = target.repository
    for entry in repo.referrers(target.digest):
        digest = entry.get("digest")
        if not isinstance(digest, str):
            continue
        hinted = (entry.get("annotations") or {}).get(BUNDLE_PREDICATE_ANNOTATION)
        if hinted and (hinted == COSIGN_SIGN_PREDICATE) != signatures:
            continue
        if hinted and predicate_type and hinted != predicate_type:
            continue
        try:
            manifest = repo.get_manifest(digest)  # verified against the descriptor's digest
            body = manifest.json
            if body.get("artifactType") != BUNDLE_V03 and entry.get("artifactType") != BUNDLE_V03:
                continue
            subject = (body.get("subject") or {}).get("digest", "")
            if not digests_equal(str(subject), target.digest):
                report.rejected.append(f"referrer {digest}: its subject is {subject or 'missing'}, not {target.digest}")
                continue
            for layer in (body.get("layers") or [])[:1]:
                if str(layer.get("mediaType", "")).startswith("application/vnd.dev.sigstore.bundle"):
                    out.append((f"referrer {digest}", repo.get_blob(layer["digest"])))
        except NotFound as exc:
            report.rejected.append(f"referrer {digest}: {exc}")
    return out


def verify_image_signatures(target: ImageTarget, keys: Sequence[TrustedKey], tlog: TlogPolicy) -> VerificationReport:
    """Every signature of `target` that verifies with one of `keys` (legacy tag and referrers)."""
    report = VerificationReport()
    tag = legacy_tag(target.digest, "sig")
    for index, layer in enumerate(_legacy_layers(target, "sig")):
        source = f"tag {tag} layer {index}"
        annotations = layer.get("annotations") or {}
        try:
            payload = target.repository.get_blob(layer["digest"], 1024 * 1024)
            signature = b64decode(annotations.get(SIGNATURE_ANNOTATION, ""), "signature annotation")
        except (ValueError, NotFound) as exc:
            report.rejected.append(f"{source}: {exc}")
            continue
        key = next((k for k in keys if verify_bytes(k.key, signature, payload)), None)
        if key is None:
            report.rejected.append(f"{source}: signature does not verify with any trusted key")
            continue
        try:
            signed = parse_payload(payload)
            if not digests_equal(signed.digest, target.digest):
                raise VerificationFailed(f"signature is for {signed.digest}, not {target.digest}")
            check_tlog(_rekor_entries(annotations), tlog, signature=signature, sha256_hex=_sha256_hex(payload))
        except VerificationFailed as exc:
            report.rejected.append(f"{source}: {exc}")
            continue
        report.verified.append(Verified(source, key.name, payload))
    for source, data in _bundles(target, report, signatures=True):
        _verify_bundle(target, source, data, keys, tlog, report, want_signature=True)
    return report


def verify_image_attestations(target: ImageTarget, keys: Sequence[TrustedKey], tlog: TlogPolicy, predicate_type: str | None = None) -> VerificationReport:
    """Every attestation of `target` (of `predicate_type`, when given) that verifies with one of `keys`."""
    report = VerificationReport()
    tag = legacy_tag(target.digest, "att")
    for index, layer in enumerate(_legacy_layers(target, "att")):
        source = f"tag {tag} layer {index}"
        annotations = layer.get("annotations") or {}
        try:
            try:
                envelope = parse_envelope(target.repository.get_blob(layer["digest"]))
            except NotFound as exc:
                raise VerificationFailed(str(exc)) from None
            key = next((k for k in keys if envelope_verifies(envelope, k.key)), None)
            if key is None:
                raise VerificationFailed("envelope signature does not verify with any trusted key")
            statement = _check_statement(envelope.payload_type, envelope.payload, target.digest)
            entries = _rekor_entries(annotations)
            check_tlog(entries, tlog, signature=envelope.signatures[0].sig, dsse_payload=envelope.payload)
        except VerificationFailed as exc:
            report.rejected.append(f"{source}: {exc}")
            continue
        if statement.predicate_type == COSIGN_SIGN_PREDICATE:
            continue
        if predicate_type and statement.predicate_type != predicate_type:
            report.rejected.append(f"{source}: predicate type {statement.predicate_type}, not {predicate_type}")
            continue
        report.verified.append(Verified(source, key.name, envelope.payload, statement, envelope))
    for source, data in _bundles(target, report, signatures=False, predicate_type=predicate_type):
        _verify_bundle(target, source, data, keys, tlog, report, want_signature=False, predicate_type=predicate_type)
    return report


def _sha256_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _check_statement(payload_type: str, payload: bytes, digest: str) -> Statement:
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise VerificationFailed(f"envelope payload type {payload_type!r} is not in-toto")
    statement = parse_statement(payload)
    if not statement.covers(digest):
        raise VerificationFailed(f"statement subject does not name {digest}")
    return statement


def _verify_bundle(
    target: ImageTarget,
    source: str,
    data: bytes,
    keys: Sequence[TrustedKey],
    tlog: TlogPolicy,
    report: VerificationReport,
    *,
    want_signature: bool,
    predicate_type: str | None = None,
) -> None:
    try:
        bundle = parse_bundle(data)
        if bundle.envelope is None:
            raise VerificationFailed("message-signature bundles do not bind an image digest; cdgate ignores them for images")
        failure: VerificationFailed | None = None
        key = None
        for candidate in keys:
            try:
                verify_dsse_bundle(bundle, candidate.key, tlog)
                key = candidate
                break
            except VerificationFailed as exc:
                failure = exc
        if key is None:
            raise failure or VerificationFailed("no trusted keys")
        statement = _check_statement(bundle.envelope.payload_type, bundle.envelope.payload, target.digest)
    except VerificationFailed as exc:
        report.rejected.append(f"{source}: {exc}")
        return
    is_signature = statement.predicate_type == COSIGN_SIGN_PREDICATE
    if is_signature != want_signature:
        return  # an attestation when looking for signatures, or the reverse
    if predicate_type and statement.predicate_type != predicate_type:
        report.rejected.append(f"{source}: predicate type {statement.predicate_type}, not {predicate_type}")
        return
    report.verified.append(Verified(source, key.name, bundle.envelope.payload, statement, bundle.envelope))
