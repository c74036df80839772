"""Registry credentials and the token dance of the distribution API.

Credentials come from the docker config (`$DOCKER_CONFIG/config.json`, else
`~/.docker/config.json`): inline `auths` entries, or a credential helper
(`credHelpers` / `credsStore`, run as `docker-credential-<name> get`).
A 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is
answered by fetching a token from the realm (with basic credentials when
we have them); `Basic` challenges get the credentials directly.
Secrets live only in memory and never appear in messages or `repr`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from scanner.supplychain.errors import RegistryError

_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    """A username/password pair or an identity (refresh) token."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _candidate_keys(registry: str) -> list[str]:
    if registry in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        return list(_DOCKER_HUB_KEYS)
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/"]


def load_credentials(registry: str, config_path: Path | None = None) -> Credentials | None:
    """Credentials for `registry` from the docker config, or None when it has none."""
    path = config_path or docker_config_path()
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        raise RegistryError(f"cannot read docker config: {exc}", path=str(path), hint="fix or remove the file") from None
    if not isinstance(config, dict):
        return None
    keys = _candidate_keys(registry)
    helpers = config.get("credHelpers") or {}
    for key in keys:
        if key in helpers:
            return _from_helper(helpers[key], registry, path)
    auths = config.get("auths") or {}
    for key in keys:
        entry = auths.get(key)
        if isinstance(entry, dict) and (found := _from_entry(entry, path)):
            return found
    if store := config.get("credsStore"):
        return _from_helper(store, registry, path, missing_ok=True)
    return None


def _from_entry(entry: dict[str, Any], path: Path) -> Credentials | None:
    if token := entry.get("identitytoken"):
        return Credentials(username=entry.get("username", ""), identity_token=token)
    if auth := entry.get("auth"):
        try:
            user, _, password = base64.b64decode(auth).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError("an `auth` entry in the docker config is not base64 user:password", path=str(path)) from None
        return Credentials(user, password)
    if entry.get("username"):
        return Credentials(entry["username"], entry.get("password", ""))
    return None


def _from_helper(name: str, registry: str, path: Path, *, missing_ok: bool = False) -> Credentials | None:
    program = f"docker-credential-{name}"
    server = "https://index.docker.io/v1/" if registry == "docker.io" else registry
    try:
        result = subprocess.run([program, "get"], input=server, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise RegistryError(f"credential helper {program} is not installed", path=str(path)) from None
    except subprocess.TimeoutExpired:
        raise RegistryError(f"credential helper {program} timed out", path=str(path)) from None
    if result.returncode != 0:
        if missing_ok or "credentials not found" in result.stdout + result.stderr:
            return None
        raise RegistryError(f"credential helper {program} failed for {registry}", path=str(path))
    try:
        data = json.loads(result.stdout)
    except (ValueError, RecursionError):
        raise RegistryError(f"credential helper {program} printed something that is not JSON", path=str(path)) from None
    if data.get("Username") == "<token>":
        return Credentials(identity_token=data.get("Secret", ""))
    return Credentials(data.get("Username", ""), data.get("Secret", ""))


_PARAM_RE = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="..."` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM_RE.finditer(rest)}
    return scheme.lower(), params


def fetch_bearer_token(
    client: httpx.Client, registry: str, params: dict[str, str], scope: str, credentials: Credentials | None, *, timeout_s: float = 30.0
) -> str:
    """Ask the challenge's realm for a token covering `scope`.

    The answer is read under `MAX_TOKEN_BYTES` and a total deadline of
    `timeout_s`: a token service that streams forever is cut off.
    """
    import time

    import httpx

    from scanner.supplychain.bounded_http import MAX_TOKEN_BYTES, read_capped

    realm = params.get("realm")
    if not realm or not realm.startswith(("https://", "http://")):
        raise RegistryError(f"registry {registry} sent a bearer challenge without a usable realm")
    from scanner.supplychain.reference import is_loopback_host

    if realm.startswith("http://") and not is_loopback_host(realm.split("/")[2]):
        raise RegistryError(f"registry {registry} asks to send credentials to a plain-HTTP token service; refusing")
    query = {k: v for k, v in (("service", params.get("service")), ("scope", scope)) if v}
    headers = {}
    deadline = time.monotonic() + timeout_s
    what = f"token service of registry {registry}"
    try:
        if credentials and credentials.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": credentials.identity_token, "client_id": "cdgate", **query}
            request = client.build_request("POST", realm, data=form)
        else:
            if credentials:
                headers["Authorization"] = credentials.basic_header()
            request = client.build_request("GET", realm, params=query, headers=headers)
        response = client.send(request, stream=True, follow_redirects=False)
        content = read_capped(response, what, max_bytes=MAX_TOKEN_BYTES, deadline=deadline)
    except httpx.HTTPError as exc:
        raise RegistryError(f"{what} failed: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise RegistryError(
            f"{what} answered HTTP {response.status_code}",
            hint="check the credentials in your docker config",
        )
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        raise RegistryError(f"{what} did not answer JSON") from None
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RegistryError(f"token service of registry {registry} returned no token")
    return str(token)
