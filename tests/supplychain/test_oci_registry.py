"""The OCI client against a real registry (Debian's docker-registry) and an OCI layout."""

from __future__ import annotations

import json

import pytest

from scanner.supplychain.encoding import sha256_digest
from scanner.supplychain.errors import RegistryError
from scanner.supplychain.oci import OCI_INDEX, LayoutRepository, Manifest, NotFound, RegistryOptions, open_repository, referrers_tag
from scanner.supplychain.reference import parse_reference
from supplychain.images import push_image

pytestmark = pytest.mark.registry


def test_push_and_pull_round_trip_keeps_exact_bytes(fresh_repo):
    reference, repo = fresh_repo
    digest = push_image(repo, "v1", {"app": b"hello"})
    by_tag = repo.get_manifest("v1")
    by_digest = repo.get_manifest(digest)
    assert by_tag.digest == by_digest.digest == digest == sha256_digest(by_tag.data)
    config = by_tag.json["config"]
    assert json.loads(repo.get_blob(config["digest"]))["rootfs"]["type"] == "layers"
    assert "v1" in repo.list_tags()


def test_tag_moves_to_new_content(fresh_repo):
    _, repo = fresh_repo
    first = push_image(repo, "v1", {"app": b"one"})
    second = push_image(repo, "v1", {"app": b"two"})
    assert first != second
    assert repo.get_manifest("v1").digest == second
    assert repo.get_manifest(first).digest == first  # the old digest is still addressable


def test_missing_manifest_and_blob_are_not_found(fresh_repo):
    _, repo = fresh_repo
    push_image(repo, "v1", {"a": b"1"})
    with pytest.raises(NotFound, match="HTTP 404"):
        repo.get_manifest("nope")
    with pytest.raises(NotFound):
        repo.get_blob("sha256:" + "0" * 64)


def test_registry_serving_a_manifest_that_does_not_match_its_digest(registry, fresh_repo):
    """Corrupt the registry's storage: the bytes served under a digest no longer hash to it."""
    _, repo = fresh_repo
    digest = push_image(repo, "v1", {"app": b"x"})
    data_path = registry.blob_data_path(digest)
    original = data_path.read_bytes()
    data_path.write_bytes(original.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    try:
        with pytest.raises(RegistryError, match="does not match"):
            repo.get_manifest(digest)
        with pytest.raises(RegistryError, match="does not match|registry says"):
            repo.get_manifest("v1")
    finally:
        data_path.write_bytes(original)


def test_corrupted_blob_is_refused(registry, fresh_repo):
    _, repo = fresh_repo
    push_image(repo, "v1", {"app": b"x"})
    config_digest = repo.get_manifest("v1").json["config"]["digest"]
    path = registry.blob_data_path(config_digest)
    original = path.read_bytes()
    path.write_bytes(original[:-1] + b" ")
    try:
        with pytest.raises(RegistryError, match="does not match"):
            repo.get_blob(config_digest)
    finally:
        path.write_bytes(original)


def test_registry_down_is_an_error_naming_the_registry():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    host = f"127.0.0.1:{port}"
    repo = open_repository(parse_reference(f"{host}/app:v1"), RegistryOptions(insecure=frozenset({host}), timeout=2))
    with pytest.raises(RegistryError, match=f"registry {host}.*ConnectError"):
        repo.get_manifest("v1")


def test_plain_http_only_for_loopback():
    from scanner.errors import ConfigError

    with pytest.raises(ConfigError, match="only allowed for loopback"):
        open_repository(parse_reference("ghcr.io/org/app:v1"), RegistryOptions(insecure=frozenset({"ghcr.io"})))
    repo = open_repository(parse_reference("ghcr.io/org/app:v1"), RegistryOptions())
    assert repo.base == "https://ghcr.io"


def test_referrers_fall_back_to_the_tag_index(fresh_repo):
    """distribution 2.8 has no referrers API: the sha256-<hex> index tag carries the list."""
    _, repo = fresh_repo
    subject = push_image(repo, "v1", {"a": b"1"})
    assert repo.referrers(subject) == []
    artifact = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256_digest(b"{}"), "size": 2}, "layers": [], "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1}}).encode()
    repo.put_blob(b"{}")
    artifact_digest = repo.put_manifest(artifact, "application/vnd.oci.image.manifest.v1+json")
    repo.add_referrer(subject, Manifest(artifact, "application/vnd.oci.image.manifest.v1+json", artifact_digest), "application/x-test", {"k": "v"})
    repo.add_referrer(subject, Manifest(artifact, "application/vnd.oci.image.manifest.v1+json", artifact_digest), "application/x-test", {"k": "v"})
    listed = repo.referrers(subject)
    assert [e["digest"] for e in listed] == [artifact_digest]  # added twice, listed once
    assert listed[0]["annotations"] == {"k": "v"}
    assert repo.referrers(subject, artifact_type="application/x-other") == []
    index = repo.get_manifest(referrers_tag(subject))
    assert index.json["mediaType"] == OCI_INDEX


def test_oci_layout_round_trip(tmp_path):
    layout = LayoutRepository(tmp_path / "layout", create=True)
    digest = push_image(layout, "v1", {"app": b"hi"})
    assert (tmp_path / "layout" / "oci-layout").is_file()
    assert (tmp_path / "layout" / "blobs" / "sha256" / digest.split(":")[1]).is_file()
    assert layout.get_manifest("v1").digest == digest
    assert layout.list_tags() == ["v1"]
    blob = tmp_path / "layout" / "blobs" / "sha256" / digest.split(":")[1]
    blob.write_bytes(blob.read_bytes() + b"\n")
    with pytest.raises(RegistryError, match="does not match"):
        layout.get_manifest("v1")


def test_layout_that_skopeo_can_copy_to_the_registry(tmp_path, registry):
    """An independent tool (skopeo) reads cdgate's OCI layout and pushes it; digests agree."""
    import shutil
    import subprocess

    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed (make test installs it)")
    layout = LayoutRepository(tmp_path / "layout", create=True)
    digest = push_image(layout, "v1", {"app": b"skopeo"})
    destination = f"docker://{registry.host}/skopeo/copy:v1"
    result = subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", "--preserve-digests", f"oci:{tmp_path / 'layout'}:v1", destination],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    repo = open_repository(parse_reference(f"{registry.host}/skopeo/copy:v1"), RegistryOptions(insecure=frozenset({registry.host})))
    assert repo.get_manifest("v1").digest == digest


def test_bodies_are_bounded(fresh_repo):
    """A body larger than allowed is refused while reading, not after buffering it all."""
    _, repo = fresh_repo
    push_image(repo, "v1", {"big": b"x" * 5000})
    layer = repo.get_manifest("v1").json["layers"][0]
    assert len(repo.get_blob(layer["digest"])) == layer["size"]
    with pytest.raises(RegistryError, match="more than the 64( bytes)? allowed"):
        repo.get_blob(layer["digest"], max_bytes=64)
