"""Image reference parsing and normalisation."""

from __future__ import annotations

import pytest

from scanner.supplychain.reference import ReferenceError_, is_loopback_host, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "text, registry, repository, tag, digest",
    [
        ("nginx", "docker.io", "library/nginx", "latest", None),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("index.docker.io/nginx", "docker.io", "library/nginx", "latest", None),
        ("ghcr.io/org/app:v1", "ghcr.io", "org/app", "v1", None),
        (f"ghcr.io/org/app@{DIGEST}", "ghcr.io", "org/app", None, DIGEST),
        (f"ghcr.io/org/app:v1@{DIGEST}", "ghcr.io", "org/app", "v1", DIGEST),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", "latest", None),
        ("localhost/app:dev", "localhost", "app", "dev", None),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", None),
    ],
)
def test_parse(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_docker_hub_api_host_and_string_form():
    ref = parse_reference("nginx")
    assert ref.api_host == "registry-1.docker.io"
    assert str(ref) == "docker.io/library/nginx:latest"
    assert str(parse_reference(f"ghcr.io/a/b:v1@{DIGEST}").with_digest(DIGEST)) == f"ghcr.io/a/b:v1@{DIGEST}"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        ("Nginx", "invalid repository"),
        ("ghcr.io/org/app@sha256:1234", "invalid digest"),
        ("app:{{ .Values.tag }}", "whitespace"),
        ("app:bad/tag", "invalid repository"),
        ("app:-x", "invalid tag"),
    ],
)
def test_invalid(text, reason):
    with pytest.raises(ReferenceError_, match=reason):
        parse_reference(text)


def test_layout_references():
    ref = parse_reference("oci:/tmp/layout:v2")
    assert ref.is_layout and ref.layout == "/tmp/layout" and ref.tag == "v2"
    ref = parse_reference(f"oci:relative/dir@{DIGEST}")
    assert ref.layout == "relative/dir" and ref.digest == DIGEST


@pytest.mark.parametrize("host, loopback", [("127.0.0.1:5000", True), ("localhost:80", True), ("[::1]:5000", True), ("ghcr.io", False), ("10.0.0.1:5000", False)])
def test_loopback(host, loopback):
    assert is_loopback_host(host) is loopback
