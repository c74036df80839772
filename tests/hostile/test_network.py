"""Issue 15, registries: bounded reads, capped referrers, credentials only to their host.

The registry here is a fake (`fake_registry.FakeRegistry`) because a real one
cannot stream forever, drip, or lie on demand.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.hostile.fake_registry import (
    IMAGE_DIGEST,
    OCI_INDEX,
    FakeRegistry,
    drip,
    send,
    serve_image,
    stream_forever,
)
from tests.hostile.fixtures import write
from tests.hostile.harness import SECRET, assert_contained, run_bounded

MANIFEST_PATH = rf"/v2/app/manifests/{IMAGE_DIGEST}"
REFERRERS_PATH = rf"/v2/app/referrers/{IMAGE_DIGEST}"


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry().start()
    yield fake
    fake.stop()


def _repo_checking(tmp_path: Path, registry: FakeRegistry, timeout_s: float = 3) -> Path:
    """A repo with one Pod using an image in `registry`, and a profile that verifies signatures."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "cosign.pub").write_bytes(pem)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app"},
        "spec": {"containers": [{"name": "c", "image": f"{registry.host}/app@{IMAGE_DIGEST}"}]},
    }
    write(tmp_path / "manifests/pod.yaml", json.dumps(pod))
    write(
        tmp_path / "gate.yaml",
        f"""\
        version: 1
        name: hostile-registry
        rego: {{bundled: false}}
        gates:
          signature:
            trusted_keys: [cosign.pub]
            timeout_s: {timeout_s}
            registries: {{"{registry.host}": {{insecure: true}}}}
        """,
    )
    return tmp_path


def _check(repo: Path) -> tuple:
    run = run_bounded("check", "manifests", "--profile", "gate.yaml", "-f", "json", cwd=repo)
    return run, json.loads(run.stdout) if run.stdout.strip().startswith("{") else {}


def test_token_service_streaming_forever_is_cut_off(tmp_path: Path, registry: FakeRegistry) -> None:
    challenge = {"WWW-Authenticate": f'Bearer realm="http://{registry.host}/token",service="fake"'}
    registry.route("GET", r"/token", stream_forever)
    registry.route("GET", r"/v2/.*", lambda r: send(r, 401, b"{}", headers=challenge))
    run, report = _check(_repo_checking(tmp_path, registry))
    assert_contained(run, 2)
    assert "token service" in run.stdout and "bytes allowed" in run.stdout


@pytest.mark.slow
def test_registry_dripping_a_byte_at_a_time_hits_the_total_deadline(tmp_path: Path, registry: FakeRegistry) -> None:
    registry.route("GET", MANIFEST_PATH, drip)
    run, report = _check(_repo_checking(tmp_path, registry, timeout_s=2))
    assert_contained(run, 2)
    assert "did not finish answering in time" in run.stdout
    assert run.seconds < 40  # the 2 s deadline, not the ~170 s the drip takes


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "not JSON"),
        (b"[1,2,3]", "not a JSON object"),
        (json.dumps({"manifests": [{"digest": f"sha256:{i:064x}"} for i in range(10_000)]}).encode(), "more than the 256"),
    ],
    ids=["not-json", "array", "ten-thousand"],
)
def test_malformed_or_huge_referrers_answer_is_an_error_with_a_place(
    tmp_path: Path, registry: FakeRegistry, body: bytes, expected: str
) -> None:
    registry.route("GET", MANIFEST_PATH, serve_image)
    registry.route("GET", REFERRERS_PATH, lambda r: send(r, 200, body, OCI_INDEX))
    run, report = _check(_repo_checking(tmp_path, registry))
    assert_contained(run, 2)
    errors = [f["message"] for f in report["findings"] if f["outcome"] == "error"]
    assert any(expected in m and "referrers" in m for m in errors), errors
    assert sum(1 for s in registry.seen if "/referrers/" in s.path) == 1


def test_blob_upload_location_on_another_host_gets_no_credentials(tmp_path: Path, registry: FakeRegistry) -> None:
    elsewhere = FakeRegistry().start()
    try:
        elsewhere.route("PUT", r"/.*", lambda r: send(r, 201, b""))
        basic = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()

        def upload_start(request) -> None:
            if request.headers.get("Authorization") != basic:
                send(request, 401, b"{}", headers={"WWW-Authenticate": 'Basic realm="fake"'})
            else:
                send(request, 202, b"", headers={"Location": f"http://{elsewhere.host}/upload/1"})

        registry.route("GET", MANIFEST_PATH, serve_image)
        registry.route("POST", r"/v2/app/blobs/uploads/", upload_start)
        config = tmp_path / "docker"
        write(config / "config.json", json.dumps({"auths": {registry.host: {"auth": base64.b64encode(f"user:{SECRET}".encode()).decode()}}}))
        env = {"COSIGN_PASSWORD": "pw", "DOCKER_CONFIG": str(config)}
        keys = run_bounded("generate-key-pair", cwd=tmp_path, env=env)
        assert_contained(keys, 0)
        run = run_bounded("sign", "--key", "cosign.key", "--allow-http-registry", "-y",
                          f"{registry.host}/app@{IMAGE_DIGEST}", cwd=tmp_path, env=env)
        assert_contained(run, 2)
        assert any(s.method == "POST" and s.authorization == basic for s in registry.seen), "the fake never asked"
        assert elsewhere.seen == [], "the upload went to the other host"
        assert "another host" in run.stderr
    finally:
        elsewhere.stop()


def test_redirect_to_another_host_carries_no_credentials(tmp_path: Path, registry: FakeRegistry) -> None:
    elsewhere = FakeRegistry().start()
    try:
        elsewhere.route("GET", r"/.*", lambda r: send(r, 401, b"{}", headers={"WWW-Authenticate": 'Basic realm="evil"'}))
        basic = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()

        def manifest(request) -> None:
            if request.headers.get("Authorization") != basic:
                send(request, 401, b"{}", headers={"WWW-Authenticate": 'Basic realm="fake"'})
            else:
                send(request, 307, b"", headers={"Location": f"http://{elsewhere.host}/steal"})

        registry.route("GET", MANIFEST_PATH, manifest)
        repo = _repo_checking(tmp_path, registry)
        config = tmp_path / "docker"
        write(config / "config.json", json.dumps({"auths": {registry.host: {"auth": base64.b64encode(f"user:{SECRET}".encode()).decode()}}}))
        with (repo / "gate.yaml").open("a") as handle:
            handle.write(f"    docker_config: {config / 'config.json'}\n")
        run, report = _check(repo)
        assert_contained(run, 2)
        assert any(s.authorization == basic for s in registry.seen), "the fake never got the credentials"
        assert elsewhere.seen and all(s.authorization is None for s in elsewhere.seen)
    finally:
        elsewhere.stop()
