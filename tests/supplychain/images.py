"""Build small OCI images in Python (config, one gzipped tar layer, manifest) and push them.

Tests need real images in a real registry, without docker: this writes the
exact bytes a builder would, so digests are real digests of real content.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

from scanner.supplychain.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Repository, descriptor_for


def layer_tar_gz(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A reproducible gzipped tar of `files`; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), "sha256:" + hashlib.sha256(uncompressed).hexdigest()


def push_image(repo: Repository, tag: str | None, files: dict[str, bytes]) -> str:
    """Push a one-layer linux/amd64 image; return its manifest digest."""
    layer, diff_id = layer_tar_gz(files)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/app"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        },
        separators=(",", ":"),
    ).encode()
    repo.put_blob(layer)
    repo.put_blob(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor_for(config, OCI_CONFIG),
        "layers": [descriptor_for(layer, OCI_LAYER)],
    }
    return repo.put_manifest(json.dumps(manifest, indent=1).encode(), OCI_MANIFEST, tag=tag)
