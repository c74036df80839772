"""Fixtures for the supply-chain tests: a real registry, keys, the cosign corpus.

`registry` starts Debian's `docker-registry` (distribution 2.8) on 127.0.0.1
on a free port with its own config and storage in a temp dir, once per test
session (per xdist worker), and stops it with SIGTERM at the end. Tests that
need it skip, with the reason, only when the binary is not installed
(`make test` installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = (REPO_ROOT / ".." / "shared" / "corpus" / "cosign").resolve()
REGISTRY_BINARY = "docker-registry"


@dataclass
class LocalRegistry:
    host: str  # 127.0.0.1:PORT
    storage: Path
    process: subprocess.Popen

    def blob_data_path(self, digest: str) -> Path:
        """Where distribution keeps a blob's bytes (manifests are blobs too)."""
        hex_ = digest.split(":", 1)[1]
        return self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex_[:2] / hex_ / "data"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(host: str, process: subprocess.Popen, timeout: float = 15.0) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"http://{host}/v2/", timeout=1.0).status_code in (200, 401):
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


def start_registry(workdir: Path, extra_config: str = "") -> LocalRegistry:
    """Start docker-registry in `workdir` (config + storage there); caller stops it."""
    for _attempt in range(5):
        port = _free_port()
        storage = workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
            + extra_config
        )
        with open(workdir / "registry.log", "ab") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([shutil.which(REGISTRY_BINARY), "serve", str(config)], stdout=log, stderr=log)
        host = f"127.0.0.1:{port}"
        if _wait_ready(host, process):
            return LocalRegistry(host, storage, process)
        stop_registry(process)
    raise RuntimeError(f"docker-registry did not start; see {workdir / 'registry.log'}")


def stop_registry(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> LocalRegistry:
    if shutil.which(REGISTRY_BINARY) is None:
        pytest.skip("docker-registry is not installed (make test installs it: apt-get install docker-registry)")
    running = start_registry(tmp_path_factory.mktemp("registry"))
    yield running
    stop_registry(running.process)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "vectors.json").is_file():
        pytest.skip(f"cosign corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def signing_key():
    from scanner.supplychain.keys import generate_private_key

    return generate_private_key()


@pytest.fixture(scope="session")
def other_key():
    from scanner.supplychain.keys import generate_private_key

    return generate_private_key()


@pytest.fixture
def registry_options(registry):
    from scanner.supplychain.oci import RegistryOptions

    return RegistryOptions(insecure=frozenset({registry.host}), timeout=10.0)


_counter = [0]


@pytest.fixture
def fresh_repo(registry, registry_options):
    """A new repository name on the registry for each test (tests never share images)."""
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    _counter[0] += 1
    name = f"{registry.host}/t{os.getpid()}/r{_counter[0]}"
    reference = parse_reference(name + ":v1")
    repository = open_repository(reference, registry_options)
    yield reference, repository
    repository.close()
