"""Small OS images built in Python: an Alpine apk database or a Debian dpkg status file, plus language packages.

The package versions match `advisories.yaml`: each image holds packages with
known (made-up) vulnerabilities and packages that are already fixed.
"""

from __future__ import annotations

from pathlib import Path

from scanner.supplychain.oci import LayoutRepository, Repository
from supplychain.images import push_image


def apk_entry(name: str, version: str, origin: str | None = None) -> bytes:
    return (
        f"C:Q1{name}=\nP:{name}\nV:{version}\nA:x86_64\nS:1000\nI:4096\nT:{name}\n"
        f"U:https://example.invalid/{name}\nL:MIT\no:{origin or name}\nm:cdgate tests\nt:1700000000\nc:0\n\n"
    ).encode()


def dpkg_entry(name: str, version: str, source: str | None = None) -> bytes:
    lines = [f"Package: {name}", "Status: install ok installed", "Priority: optional", "Section: libs",
             "Installed-Size: 100", "Maintainer: cdgate tests", "Architecture: amd64"]
    if source:
        lines.append(f"Source: {source}")
    lines += [f"Version: {version}", f"Description: {name}"]
    return ("\n".join(lines) + "\n\n").encode()


def python_dist(name: str, version: str) -> dict[str, bytes]:
    path = f"usr/lib/python3.11/site-packages/{name}-{version}.dist-info/METADATA"
    return {path: f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()}


def npm_package(name: str, version: str) -> dict[str, bytes]:
    return {f"app/node_modules/{name}/package.json": f'{{"name": "{name}", "version": "{version}", "license": "MIT"}}'.encode()}


ALPINE_FILES: dict[str, bytes] = {
    "etc/alpine-release": b"3.19.1\n",
    "etc/os-release": b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n',
    "lib/apk/db/installed": apk_entry("musl", "1.2.4_git20230717-r4") + apk_entry("busybox", "1.36.1-r20"),
    **python_dist("requests", "2.31.0"),
    **python_dist("PyYAML", "6.0.1"),
    **npm_package("lodash", "4.17.20"),
}

DEBIAN_FILES: dict[str, bytes] = {
    "etc/debian_version": b"12.7\n",
    "etc/os-release": b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
    "var/lib/dpkg/status": dpkg_entry("openssl", "3.0.14-1~deb12u2") + dpkg_entry("zlib1g", "1:1.2.13.dfsg-1", source="zlib"),
    **python_dist("PyYAML", "5.3.1"),
}


def layout_image(directory: Path, files: dict[str, bytes], tag: str = "v1") -> str:
    """Write a one-layer image into an OCI layout directory; return its digest."""
    return push_image(LayoutRepository(directory, create=True), tag, files)


def pushed_image(repo: Repository, files: dict[str, bytes], tag: str = "v1") -> str:
    return push_image(repo, tag, files)


def docker_save_tarball(path: Path, files: dict[str, bytes], tag: str = "app:v1") -> None:
    """Write a `docker save` archive (manifest.json, config, one uncompressed layer) of an image holding `files`."""
    import hashlib
    import io
    import json
    import tarfile

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_name = diff_id.split(":")[1] + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]}]).encode()
    with tarfile.open(path, mode="w") as archive:
        for name, content in ((config_name, config), (layer_name, layer_bytes), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            archive.addfile(info, io.BytesIO(content))
