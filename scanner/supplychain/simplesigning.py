"""cosign's "simple signing" payload: what a legacy image signature signs.

    {"critical": {"identity": {"docker-reference": "registry/repo"},
                  "image": {"docker-manifest-digest": "sha256:..."},
                  "type": "cosign container image signature"},
     "optional": null | {annotations}}

The signature covers these exact bytes (stored as a blob in the signature
image); cdgate verifies the stored bytes and only then parses them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scanner.supplychain.encoding import DIGEST_RE
from scanner.supplychain.errors import VerificationFailed

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_TYPE = "cosign container image signature"
SIGNATURE_TYPES = (SIGNATURE_TYPE, "https://sigstore.dev/cosign/sign/v1")


def make_payload(docker_reference: str, digest: str, annotations: dict[str, Any] | None = None) -> bytes:
    payload = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": annotations or None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SimpleSigning:
    docker_reference: str
    digest: str
    type: str
    optional: dict[str, Any] | None


def parse_payload(data: bytes) -> SimpleSigning:
    try:
        value = json.loads(data)
        critical = value["critical"]
        digest = critical["image"]["docker-manifest-digest"]
        kind = critical["type"]
        reference = (critical.get("identity") or {}).get("docker-reference", "")
    except (ValueError, KeyError, TypeError):
        raise VerificationFailed("signature payload is not a cosign simple-signing document") from None
    if kind not in SIGNATURE_TYPES:
        raise VerificationFailed(f"signature payload has type {kind!r}, not a cosign image signature")
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise VerificationFailed("signature payload names no sha256 image digest")
    optional = value.get("optional")
    return SimpleSigning(str(reference), digest, kind, optional if isinstance(optional, dict) else None)
