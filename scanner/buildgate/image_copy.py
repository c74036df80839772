"""Copy one image from its repository into a local OCI layout, digest-verified, for Trivy.

The build gate scans exactly the bytes it signs: it resolves the image to a
digest, copies that manifest and its blobs (each checked against its digest
by the repository code, each under the blob size bound) into a temporary
layout, and runs Trivy with `--input` on the layout. Registry access, plain
HTTP and credentials stay under cdgate's own rules; Trivy never reaches a
registry.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from scanner.supplychain.errors import RegistryError
from scanner.supplychain.oci import DOCKER_MANIFEST_LIST, OCI_INDEX, LayoutRepository, Manifest, Repository

PLATFORM = {"os": "linux", "architecture": "amd64"}
#: Bounds on what is copied: image layers are larger than signatures (the registry default).
MAX_LAYER_BYTES = 1024 * 1024 * 1024
MAX_IMAGE_BYTES = 4 * 1024 * 1024 * 1024


def _platform_manifest(repository: Repository, index: Manifest) -> Manifest:
    entries: Any = index.json.get("manifests") or []
    for entry in entries if isinstance(entries, list) else []:
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if isinstance(platform, dict) and all(platform.get(key) == value for key, value in PLATFORM.items()):
            if not isinstance(entry.get("digest"), str):
                raise RegistryError(f"image index {index.digest}: the linux/amd64 entry has no digest")
            return repository.get_manifest(entry["digest"])
    raise RegistryError(f"image index {index.digest} has no linux/amd64 image")


def copy_to_layout(repository: Repository, digest: str, directory: Path) -> str:
    """Write the image `digest` (or its linux/amd64 image, for an index) into an OCI layout; return the scanned digest."""
    manifest = repository.get_manifest(digest)
    if manifest.media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        manifest = _platform_manifest(repository, manifest)
    body = manifest.json
    layout = LayoutRepository(directory, create=True)
    layers = body.get("layers") or []
    if not isinstance(layers, list):
        raise RegistryError(f"manifest {manifest.digest}: `layers` is not a list")
    copied = 0
    for descriptor in [body.get("config") or {}, *layers]:
        blob_digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if not isinstance(blob_digest, str):
            raise RegistryError(f"manifest {manifest.digest} has a descriptor without a digest: {json.dumps(descriptor)[:200]}")
        blob = repository.get_blob(blob_digest, max_bytes=MAX_LAYER_BYTES)
        copied += len(blob)
        if copied > MAX_IMAGE_BYTES:
            raise RegistryError(f"image {manifest.digest} is larger than the {MAX_IMAGE_BYTES} bytes cdgate copies for a scan")
        layout.put_blob(blob)
    layout.put_manifest(manifest.data, manifest.media_type, tag="scanned")
    return manifest.digest


@contextmanager
def pulled_layout(reference: str, *, insecure: bool = False) -> Iterator[Path]:
    """A temporary OCI layout holding the image `reference` names (removed afterwards).

    The reference is resolved by cdgate's own registry client (loopback plain
    HTTP only with `insecure`), so Trivy never reaches a registry.
    """
    from scanner.errors import ConfigError
    from scanner.supplychain.oci import RegistryOptions, open_repository
    from scanner.supplychain.reference import ReferenceError_, parse_reference

    try:
        parsed = parse_reference(reference)
    except ReferenceError_ as exc:
        raise ConfigError(str(exc), hint="use REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST] or oci:DIR[:TAG]") from None
    options = RegistryOptions(insecure=frozenset({parsed.registry}) if insecure else frozenset())
    repository = open_repository(parsed, options)
    digest = repository.get_manifest(parsed.identifier).digest
    with tempfile.TemporaryDirectory(prefix="cdgate-image-") as temporary:
        layout = Path(temporary) / "layout"
        copy_to_layout(repository, digest, layout)
        yield layout
