"""Small, exact helpers for digests, base64 and canonical JSON.

Kept in one place so every module computes `sha256:<hex>` and decodes base64
the same way, and so the few comparisons that involve secrets or digests are
constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`, the form OCI descriptors use."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_hex(digest: str) -> str:
    """The hex part of a `sha256:<hex>` digest (raises ValueError otherwise)."""
    if not DIGEST_RE.match(digest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return digest.split(":", 1)[1]


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two digest strings."""
    return hmac.compare_digest(a.encode(), b.encode())


def b64decode(text: str | bytes, what: str = "value") -> bytes:
    """Strict standard base64 (padding optional); ValueError names `what`."""
    if isinstance(text, str):
        text = text.strip().encode()
    try:
        padded = text + b"=" * (-len(text) % 4)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        try:  # Go's URL-safe encodings appear in a few places (DSSE allows both)
            return base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            raise ValueError(f"{what} is not valid base64") from None


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace: the form Rekor signs and that repeat runs reproduce."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
