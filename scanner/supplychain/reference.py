"""Image references: parse, normalise, and say which registry a name lives in.

Follows the distribution reference grammar as docker and cosign apply it:
a first path component with a `.` or `:` (or `localhost`) is a registry host;
otherwise the image is on Docker Hub (`docker.io`, `library/` for one-part
names); no tag and no digest means `:latest`. OCI layout directories are
named skopeo's way: `oci:PATH[:TAG]` or `oci:PATH@sha256:...`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from scanner.supplychain.encoding import DIGEST_RE

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
LAYOUT_PREFIX = "oci:"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?$")


class ReferenceError_(ValueError):
    """The text is not an image reference; the message says why."""


@dataclass(frozen=True)
class Reference:
    """A parsed image reference. `layout` is set for OCI layout directories."""

    registry: str  # "docker.io", "127.0.0.1:5000"; "" for a layout
    repository: str  # "library/nginx"; "" for a layout
    tag: str | None = None
    digest: str | None = None
    layout: str | None = None  # directory of an OCI image layout

    @property
    def is_layout(self) -> bool:
        return self.layout is not None

    @property
    def api_host(self) -> str:
        """Host to talk to: Docker Hub's API lives on a different name."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def repository_name(self) -> str:
        """`registry/repository`, the name cosign signs as `docker-reference`."""
        if self.is_layout:
            return f"{LAYOUT_PREFIX}{self.layout}"
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """The digest when known, else the tag (`latest` if neither)."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = self.repository_name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _is_host(component: str) -> bool:
    return ("." in component or ":" in component or component == "localhost") and bool(_HOST_RE.match(component))


def parse_reference(text: str) -> Reference:
    """Parse and normalise `text`; raise ReferenceError_ with the reason."""
    raw = text.strip()
    if not raw:
        raise ReferenceError_("empty image reference")
    if raw.startswith(LAYOUT_PREFIX):
        return _parse_layout(raw[len(LAYOUT_PREFIX) :])
    if any(c.isspace() for c in raw):
        raise ReferenceError_(f"image reference {raw!r} contains whitespace")
    name, digest = raw, None
    if "@" in raw:
        name, digest = raw.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise ReferenceError_(f"image reference {raw!r} has an invalid digest (expected sha256:<64 hex>)")
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise ReferenceError_(f"image reference {raw!r} has an invalid tag {tag!r}")
    parts = name.split("/")
    if len(parts) > 1 and _is_host(parts[0]):
        registry, repository = parts[0], "/".join(parts[1:])
    else:
        registry, repository = DOCKER_HUB, name
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and "/" not in repository:
        repository = f"library/{repository}"
    if not _REPOSITORY_RE.match(repository):
        raise ReferenceError_(
            f"image reference {raw!r} has an invalid repository {repository!r} "
            "(lowercase letters, digits and . _ - separators)"
        )
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry=registry, repository=repository, tag=tag, digest=digest)


def _parse_layout(rest: str) -> Reference:
    digest = tag = None
    if "@" in rest:
        rest, digest = rest.rsplit("@", 1)
        if not DIGEST_RE.match(digest):
            raise ReferenceError_(f"OCI layout reference has an invalid digest {digest!r}")
    elif ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG_RE.match(tag):
            raise ReferenceError_(f"OCI layout reference has an invalid tag {tag!r}")
    if not rest:
        raise ReferenceError_("OCI layout reference has no directory (use oci:DIR[:TAG])")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry="", repository="", tag=tag, digest=digest, layout=rest)


def is_loopback_host(registry: str) -> bool:
    """True for registries on this machine (the only ones allowed over plain HTTP)."""
    host = registry
    if host.startswith("["):
        host = host[1 : host.index("]")]
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host in ("localhost", "::1") or host.startswith("127.")
