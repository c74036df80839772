"""Bounded reads from registries and token services, and which host gets credentials.

A registry named in a pull request can be hostile: it may stream forever,
drip one byte a second (httpx's timeout is per read, so that never trips),
or hand out URLs on another host to collect credentials. Every body is read
here under a size cap and a total deadline, and `same_origin` decides
whether an Authorization header may go to a URL at all.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from scanner.supplychain.errors import RegistryError

#: Largest token-service answer read (real ones are a few kilobytes).
MAX_TOKEN_BYTES = 256 * 1024


def read_capped(response: Any, what: str, *, max_bytes: int, deadline: float) -> bytes:
    """The body of a streamed httpx `response`, refused past `max_bytes` or `deadline`.

    `deadline` is a `time.monotonic()` instant; the response is closed either way.
    """
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise RegistryError(f"{what} answers {declared} bytes, more than the {max_bytes} allowed")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise RegistryError(f"{what} answers more than the {max_bytes} bytes allowed")
            if time.monotonic() > deadline:
                raise RegistryError(
                    f"{what} did not finish answering in time ({len(body)} bytes so far)",
                    hint="the registry is too slow or stalling on purpose; raise timeout_s if it is just slow",
                )
        return bytes(body)
    finally:
        response.close()


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def origin_text(url: str) -> str:
    """`scheme://host:port` of `url`, for messages (never the path or query, which may hold tokens)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


def same_origin(url: str, base: str) -> bool:
    """True when `url` has the scheme, host and port of `base`: only then may credentials go."""
    return origin(url) == origin(base)
