"""in-toto statements and the predicates cosign (and cdgate) attest.

`--type` takes cosign's short names or any predicate type URI. cdgate adds
its own `gate-verdict` predicate: what the gate decided about an image, with
the digests of the policy bundle and profile that decided it, so a
deployment can prove which policies it passed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from scanner.errors import InputError
from scanner.supplychain.encoding import digest_hex, digests_equal
from scanner.supplychain.errors import VerificationFailed

STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_TYPES = (STATEMENT_V01, STATEMENT_V1)

COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
CUSTOM_PREDICATE = "https://cosign.sigstore.dev/attestation/v1"
GATE_VERDICT_PREDICATE = "https://cdgate.dev/attestation/gate-verdict/v1"

# cosign's --type short names, plus cdgate's own.
PREDICATE_TYPES: dict[str, str] = {
    "custom": CUSTOM_PREDICATE,
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "cyclonedx": "https://cyclonedx.org/bom",
    "link": "https://in-toto.io/Link/v1",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "openvex": "https://openvex.dev/ns",
    "gate-verdict": GATE_VERDICT_PREDICATE,
}


def resolve_predicate_type(name: str) -> str:
    """A short name (`cyclonedx`) or a URI -> the predicate type URI."""
    if name in PREDICATE_TYPES:
        return PREDICATE_TYPES[name]
    if "://" in name:
        return name
    names = ", ".join(sorted(PREDICATE_TYPES))
    raise InputError(f"unknown predicate type {name!r}", hint=f"use one of {names}, or a predicate type URI")


def build_predicate(type_name: str, content: bytes, *, path: str | None = None, now: datetime | None = None) -> Any:
    """The predicate cosign would embed for `--type type_name --predicate FILE`.

    `custom` wraps the file's text as `{"Data": ..., "Timestamp": ...}`; every
    other type embeds the file's JSON as-is.
    """
    if resolve_predicate_type(type_name) == CUSTOM_PREDICATE and type_name == "custom":
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"Data": content.decode("utf-8", errors="replace"), "Timestamp": stamp}
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"predicate is not JSON: {exc}", path=path, hint="pass a JSON predicate file") from None


def make_statement(subject_name: str, digest: str, predicate_type: str, predicate: Any, *, version: str = STATEMENT_V01) -> bytes:
    """The statement bytes to sign: one subject, the image digest."""
    statement = {
        "_type": version,
        "predicateType": predicate_type,
        "subject": [{"name": subject_name, "digest": {"sha256": digest_hex(digest)}}],
        "predicate": predicate,
    }
    return json.dumps(statement, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Statement:
    type: str
    predicate_type: str
    subjects: tuple[dict[str, Any], ...]
    predicate: Any

    def covers(self, digest: str) -> bool:
        """True when some subject names `digest` (sha256)."""
        want = digest_hex(digest)
        for subject in self.subjects:
            got = (subject.get("digest") or {}).get("sha256") if isinstance(subject, dict) else None
            if isinstance(got, str) and digests_equal(got.lower(), want):
                return True
        return False


def parse_statement(payload: bytes) -> Statement:
    """Parse the signed payload bytes of an attestation."""
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        raise VerificationFailed("attestation payload is not JSON") from None
    if not isinstance(value, dict) or value.get("_type") not in STATEMENT_TYPES:
        raise VerificationFailed("attestation payload is not an in-toto statement")
    subjects = value.get("subject")
    if not isinstance(subjects, list) or not isinstance(value.get("predicateType"), str):
        raise VerificationFailed("in-toto statement lacks subject or predicateType")
    return Statement(value["_type"], value["predicateType"], tuple(subjects), value.get("predicate"))


def gate_verdict_predicate(
    *,
    verdict: str,
    counts: Mapping[str, int],
    policy_bundle_digest: str,
    profile_digest: str,
    profile_name: str | None = None,
    environment: str | None = None,
    cdgate_version: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """cdgate's gate-verdict predicate: which policies decided what, and how many findings.

    Digests are `sha256:<hex>`; `verdict` is passed, failed or error; counts
    are by severity (critical ... info).
    """
    if verdict not in ("passed", "failed", "error"):
        raise ValueError(f"verdict must be passed, failed or error, not {verdict!r}")
    for digest in (policy_bundle_digest, profile_digest):
        digest_hex(digest)
    from scanner import __version__

    return {
        "verdict": verdict,
        "policyBundle": {"digest": {"sha256": digest_hex(policy_bundle_digest)}},
        "profile": {"name": profile_name, "digest": {"sha256": digest_hex(profile_digest)}},
        "environment": environment,
        "counts": {s: int(counts.get(s, 0)) for s in ("critical", "high", "medium", "low", "info")},
        "evaluatedBy": {"name": "cdgate", "version": cdgate_version or __version__},
        "timestamp": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
