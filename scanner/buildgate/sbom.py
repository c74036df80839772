"""What `cdgate sbom TARGET` hands Trivy: a directory, an image archive or layout, or a reference."""

from __future__ import annotations

import tarfile
from pathlib import Path

from scanner.engines.trivy import TrivyTarget
from scanner.errors import InputError


def is_oci_layout(directory: Path) -> bool:
    """An OCI image layout directory has `oci-layout` and `index.json`."""
    return (directory / "oci-layout").is_file() and (directory / "index.json").is_file()


def sbom_target(target: str, as_image: bool = False) -> TrivyTarget:
    """The Trivy target for `target`.

    A directory is a source tree (`fs`) unless it is an OCI layout; a file
    must be a `docker save` tarball; anything else (or `--image`) is an
    image reference.
    """
    path = Path(target)
    if as_image or not path.exists():
        return TrivyTarget("image", target)
    if path.is_dir():
        return TrivyTarget("image", target, input_path=True) if is_oci_layout(path) else TrivyTarget("fs", target)
    if not tarfile.is_tarfile(path):
        raise InputError(
            "not a directory, an OCI layout or a `docker save` tarball",
            path=target,
            hint="give a source directory, an image archive, or pass --image for a registry reference",
        )
    return TrivyTarget("image", target, input_path=True)
