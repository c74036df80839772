"""A client for an OPA server's Data API with a total deadline, a size bound and bounded retries.

`POST <url>/v1/data/<path>` with `{"input": ...}` answers `{"result": ...}`
(no `result` when the document is undefined). Every call has one deadline
for the whole exchange, retries included; the body is read in chunks and
refused past `max_bytes`; TLS certificates are verified (against `ca_file`
when given); plain http is allowed only to a loopback address; redirects are
not followed, so the bearer token goes only to the configured host.

httpx rather than `opa-python-client`: that client sets a per-read timeout
(a slow server can trickle bytes forever), has no size bound and retries
through requests/urllib3, which would add a dependency for less control.
"""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

RETRY_STATUSES = (429, 502, 503, 504)
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


class OpaServerError(Exception):
    """The OPA server could not give a decision: what happened and what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """The base URL without a trailing slash; ValueError for a scheme or host cdgate will not use."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{url!r} is plain http to a non-loopback host; use https so the decision and token are protected")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} has a query or fragment; give the server's base URL")
    return url.rstrip("/")


@dataclass(frozen=True)
class OpaDataClient:
    """Decisions from one OPA server; safe to share between threads (one connection per call)."""

    url: str
    token: str | None = None
    timeout_s: float = 10.0
    retries: int = 2
    ca_file: Path | None = None
    max_bytes: int = DEFAULT_MAX_BYTES

    def decision(self, path: str, input_value: Any) -> Any:
        """The value of `data.<path>` for `input_value`, or None when it is undefined.

        Raises OpaServerError for anything else: down, too slow, an HTTP
        error, a body that is too large or not JSON.
        """
        import httpx

        endpoint = f"{self.url}/v1/data/{'/'.join(quote(p, safe='') for p in path.split('.') if p)}"
        body = json.dumps({"input": input_value}, default=str).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        deadline = time.monotonic() + self.timeout_s
        verify: Any = str(self.ca_file) if self.ca_file else True
        last_problem = ""
        for attempt in range(self.retries + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                with httpx.Client(verify=verify, follow_redirects=False, timeout=httpx.Timeout(remaining)) as client:
                    status, payload = self._exchange(client, endpoint, body, headers, deadline)
            except OpaServerError:
                raise
            except httpx.TimeoutException:
                last_problem = f"no answer within {self.timeout_s:g}s"
                break
            except httpx.HTTPError as exc:
                last_problem = f"cannot reach it: {type(exc).__name__}: {exc}"
                self._pause(attempt, deadline)
                continue
            if status in RETRY_STATUSES:
                last_problem = f"HTTP {status}"
                self._pause(attempt, deadline)
                continue
            return self._result(endpoint, status, payload)
        if not last_problem:
            last_problem = f"no answer within {self.timeout_s:g}s"
        raise OpaServerError(
            f"OPA server {self.url} gave no decision for data.{path}: {last_problem}",
            "check that the server is up and reachable, or raise rego.timeout_s / rego.retries in gate.yaml",
        )

    def _exchange(self, client: Any, endpoint: str, body: bytes, headers: dict[str, str], deadline: float) -> tuple[int, bytes]:
        chunks: list[bytes] = []
        size = 0
        with client.stream("POST", endpoint, content=body, headers=headers) as response:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise OpaServerError(
                        f"OPA server {self.url} sent more than {self.max_bytes} bytes for one decision",
                        "check the URL points at an OPA Data API; a decision should be small",
                    )
                if time.monotonic() > deadline:
                    raise OpaServerError(
                        f"OPA server {self.url} did not finish its answer within {self.timeout_s:g}s",
                        "the server is too slow: check its load, or raise rego.timeout_s in gate.yaml",
                    )
                chunks.append(chunk)
            return int(response.status_code), b"".join(chunks)

    def _pause(self, attempt: int, deadline: float) -> None:
        time.sleep(max(0.0, min(0.1 * 2**attempt, deadline - time.monotonic())))

    def _result(self, endpoint: str, status: int, payload: bytes) -> Any:
        try:
            document = json.loads(payload)
        except ValueError:
            preview = payload[:80].decode("utf-8", "replace")
            raise OpaServerError(
                f"OPA server {self.url} answered HTTP {status} with a body that is not JSON: {preview!r}",
                "check rego.url points at OPA's Data API (not a proxy's or a login page)",
            ) from None
        if status != 200:
            detail = document.get("message") if isinstance(document, dict) else None
            raise OpaServerError(
                f"OPA server {self.url} refused {endpoint}: HTTP {status}" + (f": {detail}" if detail else ""),
                "check the token (rego.token_env) and that the server has cdgate's policies loaded",
            )
        if not isinstance(document, dict):
            raise OpaServerError(
                f"OPA server {self.url} answered with JSON that is not an object",
                "check rego.url points at OPA's Data API",
            )
        return document.get("result")
