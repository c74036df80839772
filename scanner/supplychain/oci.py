"""OCI registries and OCI layout directories, behind one small interface.

`open_repository(reference, options)` returns a `Repository`: a remote one
speaking the distribution API over httpx, or a local OCI image layout. Both
verify every manifest and blob they hand out against its digest, and both
store manifests as the exact bytes given (a re-serialised manifest would
have another digest). Referrers come from the OCI 1.1 referrers API, with
the `sha256-<hex>` tag index as the fallback that registries without the
API (distribution 2.8, layouts) need.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

from scanner.errors import ConfigError
from scanner.supplychain.bounded_http import origin_text, read_capped, same_origin
from scanner.supplychain.auth import Credentials, fetch_bearer_token, load_credentials, parse_challenge
from scanner.supplychain.encoding import DIGEST_RE, digest_hex, digests_equal, sha256_digest
from scanner.supplychain.errors import RegistryError
from scanner.supplychain.reference import Reference, is_loopback_host

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EMPTY_JSON = b"{}"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_BLOB_BYTES = 64 * 1024 * 1024
#: Most referrers (signatures, attestations) considered for one image; more is an error, not a silent cut.
MAX_REFERRERS = 256


@dataclass(frozen=True)
class Reply:
    """What a registry answered: status, headers and the (bounded) body."""

    status_code: int
    headers: Any
    content: bytes
    what: str = "registry answer"
    url: str = ""

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a RegistryError naming the request."""
        try:
            value = json.loads(self.content)
        except (ValueError, RecursionError):
            raise RegistryError(f"{self.what}: the answer is not JSON", hint="is this really an OCI registry?") from None
        if not isinstance(value, dict):
            raise RegistryError(f"{self.what}: the answer is not a JSON object", hint="is this really an OCI registry?")
        return value


class NotFound(RegistryError):
    """The manifest, blob or tag does not exist (a 404, not a failure to look)."""


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as stored: its bytes, media type and verified digest."""

    data: bytes
    media_type: str
    digest: str

    @property
    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.data)
        except (ValueError, RecursionError):
            raise RegistryError(f"manifest {self.digest} is not JSON") from None
        if not isinstance(value, dict):
            raise RegistryError(f"manifest {self.digest} is not a JSON object")
        return value

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data), **extra}


def descriptor_for(data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data), **extra}


def manifest_media_type(data: bytes, fallback: str = OCI_MANIFEST) -> str:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return fallback
    media_type = value.get("mediaType") if isinstance(value, dict) else None
    if media_type:
        return str(media_type)
    if isinstance(value, dict) and "manifests" in value:
        return OCI_INDEX
    return fallback


class Repository(Protocol):
    """One repository of a registry, or one OCI layout."""

    name: str  # for messages: "127.0.0.1:5000/app" or "oci:/path"

    def get_manifest(self, identifier: str) -> Manifest: ...
    def put_manifest(self, data: bytes, media_type: str, tag: str | None = None) -> str: ...
    def get_blob(self, digest: str, max_bytes: int = MAX_BLOB_BYTES) -> bytes: ...
    def put_blob(self, data: bytes) -> str: ...
    def list_tags(self) -> list[str]: ...
    def referrers(self, digest: str, artifact_type: str | None = None) -> list[dict[str, Any]]: ...
    def add_referrer(self, subject_digest: str, manifest: Manifest, artifact_type: str | None, annotations: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries. `insecure` hosts (loopback only) use plain HTTP."""

    insecure: frozenset[str] = frozenset()
    docker_config: Path | None = None
    timeout: float = 30.0
    transport: Any = None  # an httpx transport, for tests that need to see requests


def verify_digest(data: bytes, expected: str, what: str) -> None:
    """Raise RegistryError when `data` does not hash to `expected`."""
    actual = sha256_digest(data)
    if not digests_equal(actual, expected):
        raise RegistryError(f"{what}: content digest {actual} does not match {expected}; refusing it")


def referrers_tag(digest: str) -> str:
    """`sha256:<hex>` -> `sha256-<hex>`, the fallback tag of the referrers index."""
    return "sha256-" + digest_hex(digest)


def _updated_index(existing: Manifest | None, manifest: Manifest, artifact_type: str | None, annotations: dict[str, str]) -> bytes:
    entries = []
    if existing is not None:
        entries = [m for m in existing.json.get("manifests", []) if m.get("digest") != manifest.digest]
    entry = manifest.descriptor()
    if artifact_type:
        entry["artifactType"] = artifact_type
    if annotations:
        entry["annotations"] = annotations
    entries.append(entry)
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, separators=(",", ":")).encode()


def _manifest_list(index: dict[str, Any], what: str) -> list[Any]:
    """The `manifests` of a referrers index, refused when malformed or over `MAX_REFERRERS`."""
    entries = index.get("manifests") or []
    if not isinstance(entries, list):
        raise RegistryError(f"{what}: `manifests` is not a list", hint="is this really an OCI registry?")
    if len(entries) > MAX_REFERRERS:
        raise RegistryError(
            f"{what}: {len(entries)} referrers, more than the {MAX_REFERRERS} cdgate considers",
            hint="prune old signatures and attestations of this image",
        )
    return entries


def _filter(entries: list[dict[str, Any]], artifact_type: str | None) -> list[dict[str, Any]]:
    return [e for e in entries if isinstance(e, dict) and (artifact_type is None or e.get("artifactType") == artifact_type)]


# --- remote registries ----------------------------------------------------------


class RegistryRepository:
    """A repository on a registry, over the OCI distribution API."""

    def __init__(self, reference: Reference, options: RegistryOptions, *, client: Any = None):
        import httpx

        self.registry = reference.registry
        self.repository = reference.repository
        self.name = f"{reference.registry}/{reference.repository}"
        insecure = reference.registry in options.insecure
        if insecure and not is_loopback_host(reference.registry):
            raise ConfigError(
                f"registry {reference.registry} is marked insecure, but plain HTTP is only allowed for loopback registries",
                hint="use HTTPS for remote registries",
            )
        self.base = f"{'http' if insecure else 'https'}://{reference.api_host}"
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._docker_config = options.docker_config
        self._token: dict[str, str] = {}
        self._timeout = options.timeout
        self.client = client or httpx.Client(timeout=options.timeout, transport=options.transport, follow_redirects=True)

    def close(self) -> None:
        """Close the HTTP connections (the gate does at the end of a run)."""
        self.client.close()

    # -- plumbing --

    def _creds(self) -> Credentials | None:
        if not self._credentials_loaded:
            self._credentials = load_credentials(self.registry, self._docker_config)
            self._credentials_loaded = True
        return self._credentials

    def _request(self, method: str, url: str, *, push: bool = False, max_bytes: int = MAX_MANIFEST_BYTES, **kwargs: Any) -> Reply:
        """One request with the auth dance; the body is read up to `max_bytes` and no further.

        A registry (or something pretending to be one) cannot make cdgate
        buffer an unbounded body: past the limit the request is an error.
        """
        import httpx

        scope = f"repository:{self.repository}:{'pull,push' if push else 'pull'}"
        headers = dict(kwargs.pop("headers", {}) or {})
        full = url if url.startswith(("http://", "https://")) else self.base + url
        if not same_origin(full, self.base):
            raise RegistryError(
                f"registry {self.registry} sent cdgate to another host or scheme ({origin_text(full)}); refusing to follow",
                hint="credentials go only to the registry they were configured for",
            )
        for attempt in range(2):
            if scope in self._token:
                headers["Authorization"] = self._token[scope]
            try:
                response = self._send(method, full, headers, max_bytes, **kwargs)
            except httpx.HTTPError as exc:
                raise RegistryError(
                    f"registry {self.registry}: {method} {_path_of(full)} failed: {type(exc).__name__}: {exc or 'no answer'}",
                    hint="is the registry up and reachable?",
                ) from None
            if response.status_code != 401 or attempt or not same_origin(response.url, self.base):
                return response  # a 401 after a redirect elsewhere gets no credentials
            scheme, params = parse_challenge(response.headers.get("www-authenticate", ""))
            creds = self._creds()
            if scheme == "bearer":
                self._token[scope] = "Bearer " + fetch_bearer_token(
                    self.client, self.registry, params, scope, creds, timeout_s=self._timeout
                )
            elif scheme == "basic" and creds:
                self._token[scope] = creds.basic_header()
            else:
                return response
        return response

    def _send(self, method: str, url: str, headers: dict[str, str], max_bytes: int, **kwargs: Any) -> Reply:
        deadline = time.monotonic() + self._timeout
        request = self.client.build_request(method, url, headers=headers, **kwargs)
        response = self.client.send(request, stream=True)
        what = f"registry {self.registry}: {method} {_path_of(url)}"
        body = read_capped(response, what, max_bytes=max_bytes, deadline=deadline)
        return Reply(response.status_code, response.headers, body, what, str(response.url))

    def _fail(self, response: httpx.Response | Reply, what: str) -> RegistryError:
        detail = ""
        try:
            errors = response.json().get("errors") or []
            if errors:
                detail = ": " + "; ".join(f"{e.get('code', '')} {e.get('message', '')}".strip() for e in errors)
        except (RegistryError, ValueError, AttributeError, TypeError):
            pass
        cls = NotFound if response.status_code == 404 else RegistryError
        hint = "check the credentials in your docker config" if response.status_code in (401, 403) else None
        return cls(f"registry {self.registry}: {what} -> HTTP {response.status_code}{detail}", hint=hint)

    # -- manifests --

    def get_manifest(self, identifier: str) -> Manifest:
        url = f"/v2/{self.repository}/manifests/{identifier}"
        response = self._request("GET", url, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code != 200:
            raise self._fail(response, f"GET manifest {self.repository}:{identifier}")
        data = response.content
        if len(data) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"registry {self.registry}: manifest {identifier} is larger than {MAX_MANIFEST_BYTES} bytes")
        digest = sha256_digest(data)
        what = f"registry {self.registry}: manifest {self.repository}@{identifier}"
        if DIGEST_RE.match(identifier):
            verify_digest(data, identifier, what)
        header = response.headers.get("docker-content-digest")
        if header and DIGEST_RE.match(header) and not digests_equal(header, digest):
            raise RegistryError(f"{what}: the registry says {header} but the content hashes to {digest}; refusing it")
        media_type = response.headers.get("content-type", "").split(";")[0].strip() or manifest_media_type(data)
        return Manifest(data, media_type, digest)

    def put_manifest(self, data: bytes, media_type: str, tag: str | None = None) -> str:
        digest = sha256_digest(data)
        url = f"/v2/{self.repository}/manifests/{tag or digest}"
        response = self._request("PUT", url, push=True, content=data, headers={"Content-Type": media_type})
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, f"PUT manifest {self.repository}:{tag or digest}")
        returned = response.headers.get("docker-content-digest")
        if returned and DIGEST_RE.match(returned) and not digests_equal(returned, digest):
            raise RegistryError(f"registry {self.registry} stored the manifest as {returned}, expected {digest}")
        return digest

    # -- blobs --

    def get_blob(self, digest: str, max_bytes: int = MAX_BLOB_BYTES) -> bytes:
        url = f"{self.base}/v2/{self.repository}/blobs/{digest}"
        response = self._request("GET", url, max_bytes=max_bytes)
        if response.status_code != 200:
            raise self._fail(response, f"GET blob {digest}")
        data = response.content
        if len(data) > max_bytes:
            raise RegistryError(f"registry {self.registry}: blob {digest} is larger than {max_bytes} bytes")
        verify_digest(data, digest, f"registry {self.registry}: blob {self.repository}@{digest}")
        return data

    def blob_exists(self, digest: str) -> bool:
        response = self._request("HEAD", f"/v2/{self.repository}/blobs/{digest}", push=True)
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, f"HEAD blob {digest}")

    def put_blob(self, data: bytes) -> str:
        digest = sha256_digest(data)
        if self.blob_exists(digest):
            return digest
        start = self._request("POST", f"/v2/{self.repository}/blobs/uploads/", push=True)
        if start.status_code not in (201, 202):
            raise self._fail(start, "POST blob upload")
        location = start.headers.get("location")
        if not location:
            raise RegistryError(f"registry {self.registry}: blob upload started without a Location")
        if location.startswith("/"):
            location = self.base + location
        if not same_origin(location, self.base):  # never hand the push credentials to another host
            raise RegistryError(
                f"registry {self.registry}: the blob upload Location points at another host or scheme "
                f"({origin_text(location)}); refusing to upload there",
                hint="credentials go only to the registry they were configured for",
            )
        separator = "&" if "?" in location else "?"
        done = self._request(
            "PUT",
            f"{location}{separator}digest={digest}",
            push=True,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if done.status_code not in (201, 204):
            raise self._fail(done, f"PUT blob {digest}")
        return digest

    # -- tags and referrers --

    def list_tags(self) -> list[str]:
        response = self._request("GET", f"/v2/{self.repository}/tags/list")
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise self._fail(response, "GET tags")
        tags = response.json().get("tags") or []
        if not isinstance(tags, list):
            raise RegistryError(f"{response.what}: `tags` is not a list", hint="is this really an OCI registry?")
        return [str(t) for t in tags]

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[dict[str, Any]]:
        response = self._request("GET", f"/v2/{self.repository}/referrers/{digest}", headers={"Accept": OCI_INDEX})
        if response.status_code == 200 and response.headers.get("content-type", "").startswith(OCI_INDEX):
            return _filter(_manifest_list(response.json(), response.what), artifact_type)
        if response.status_code not in (404, 200):
            raise self._fail(response, f"GET referrers {digest}")
        try:  # no referrers API: the fallback tag index
            index = self.get_manifest(referrers_tag(digest))
        except NotFound:
            return []
        return _filter(_manifest_list(index.json, f"referrers index {referrers_tag(digest)}"), artifact_type)

    def add_referrer(self, subject_digest: str, manifest: Manifest, artifact_type: str | None, annotations: dict[str, str]) -> None:
        """Update the fallback tag index (registries with the API maintain theirs)."""
        response = self._request("GET", f"/v2/{self.repository}/referrers/{subject_digest}", headers={"Accept": OCI_INDEX})
        if response.status_code == 200 and response.headers.get("content-type", "").startswith(OCI_INDEX):
            return
        tag = referrers_tag(subject_digest)
        try:
            existing = self.get_manifest(tag)
        except NotFound:
            existing = None
        self.put_manifest(_updated_index(existing, manifest, artifact_type, annotations), OCI_INDEX, tag=tag)


def _path_of(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url


# --- OCI image layout -------------------------------------------------------------


REF_NAME = "org.opencontainers.image.ref.name"


class LayoutRepository:
    """An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`).

    Tags are `org.opencontainers.image.ref.name` annotations in `index.json`;
    referrers use the same `sha256-<hex>` tag index as registries without the
    referrers API.
    """

    def __init__(self, directory: Path | str, *, create: bool = False):
        self.root = Path(directory)
        self.name = f"oci:{self.root}"
        if create and not (self.root / "oci-layout").exists():
            (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            (self.root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
            self._write_index({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        if not (self.root / "oci-layout").is_file():
            raise RegistryError(f"{self.root} is not an OCI image layout (no oci-layout file)", path=str(self.root))

    def _index(self) -> dict[str, Any]:
        try:
            index: dict[str, Any] = json.loads((self.root / "index.json").read_text())
            return index
        except (OSError, ValueError, RecursionError) as exc:
            raise RegistryError(f"cannot read index.json: {exc}", path=str(self.root / "index.json")) from None

    def _write_index(self, index: dict[str, Any]) -> None:
        self._atomic_write(self.root / "index.json", json.dumps(index, indent=2).encode())

    def _atomic_write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def _blob_path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest_hex(digest)

    def get_blob(self, digest: str, max_bytes: int = MAX_BLOB_BYTES) -> bytes:
        path = self._blob_path(digest)
        try:
            if path.stat().st_size > max_bytes:
                raise RegistryError(f"blob {digest} is larger than {max_bytes} bytes", path=str(path))
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"{self.name}: blob {digest} not found", path=str(path)) from None
        verify_digest(data, digest, f"{self.name}: blob {digest}")
        return data

    def put_blob(self, data: bytes) -> str:
        digest = sha256_digest(data)
        path = self._blob_path(digest)
        if not path.exists():
            self._atomic_write(path, data)
        return digest

    def get_manifest(self, identifier: str) -> Manifest:
        if DIGEST_RE.match(identifier):
            digest, media_type = identifier, None
            for entry in self._index().get("manifests", []):
                if entry.get("digest") == identifier:
                    media_type = entry.get("mediaType")
        else:
            matches = [m for m in self._index().get("manifests", []) if (m.get("annotations") or {}).get(REF_NAME) == identifier]
            if not matches:
                raise NotFound(f"{self.name}: tag {identifier} not found")
            digest, media_type = matches[-1]["digest"], matches[-1].get("mediaType")
        data = self.get_blob(digest, MAX_MANIFEST_BYTES)
        return Manifest(data, media_type or manifest_media_type(data), digest)

    def put_manifest(self, data: bytes, media_type: str, tag: str | None = None) -> str:
        digest = self.put_blob(data)
        index = self._index()
        entries = index.setdefault("manifests", [])
        if tag:
            entries[:] = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) != tag]
            entries.append({"mediaType": media_type, "digest": digest, "size": len(data), "annotations": {REF_NAME: tag}})
        elif not any(m.get("digest") == digest for m in entries):
            entries.append({"mediaType": media_type, "digest": digest, "size": len(data)})
        self._write_index(index)
        return digest

    def list_tags(self) -> list[str]:
        names = {(m.get("annotations") or {}).get(REF_NAME) for m in self._index().get("manifests", [])}
        return sorted(str(name) for name in names if name is not None)

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[dict[str, Any]]:
        try:
            index = self.get_manifest(referrers_tag(digest))
        except NotFound:
            return []
        return _filter(_manifest_list(index.json, f"referrers index {referrers_tag(digest)}"), artifact_type)

    def add_referrer(self, subject_digest: str, manifest: Manifest, artifact_type: str | None, annotations: dict[str, str]) -> None:
        tag = referrers_tag(subject_digest)
        try:
            existing = self.get_manifest(tag)
        except NotFound:
            existing = None
        self.put_manifest(_updated_index(existing, manifest, artifact_type, annotations), OCI_INDEX, tag=tag)


def open_repository(reference: Reference, options: RegistryOptions | None = None, *, create_layout: bool = False) -> Repository:
    """The repository `reference` lives in (a registry, or an OCI layout)."""
    if reference.is_layout:
        return LayoutRepository(reference.layout or "", create=create_layout)
    return RegistryRepository(reference, options or RegistryOptions())

