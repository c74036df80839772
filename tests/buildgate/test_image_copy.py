"""Copying an image for a scan refuses malformed manifests with a RegistryError, never a traceback."""

from __future__ import annotations

import json

import pytest

from scanner.buildgate.image_copy import copy_to_layout
from scanner.supplychain.errors import RegistryError
from scanner.supplychain.oci import OCI_INDEX, OCI_MANIFEST, LayoutRepository


@pytest.mark.parametrize(
    ("media_type", "body", "words"),
    [
        (OCI_MANIFEST, {"schemaVersion": 2, "config": {}, "layers": "sha256:abc"}, "`layers` is not a list"),
        (OCI_MANIFEST, {"schemaVersion": 2, "config": {"size": 2}, "layers": ["oops"]}, "descriptor without a digest"),
        (OCI_INDEX, {"schemaVersion": 2, "manifests": ["oops", {"platform": {"os": "linux", "architecture": "amd64"}}]}, "has no digest"),
        (OCI_INDEX, {"schemaVersion": 2, "manifests": {"not": "a list"}}, "no linux/amd64 image"),
    ],
)
def test_malformed_manifest_is_a_registry_error(tmp_path, media_type, body, words):
    source = LayoutRepository(tmp_path / "source", create=True)
    digest = source.put_manifest(json.dumps(body).encode(), media_type, tag="v1")
    with pytest.raises(RegistryError, match=words):
        copy_to_layout(source, digest, tmp_path / "copy")
