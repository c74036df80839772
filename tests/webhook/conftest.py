"""Fixtures for the webhook tests: a CA and serving certificates, and a real HTTPS webhook on 127.0.0.1.

`make_ca`/`issue` write PEM files made with `cryptography`; `WebhookServer`
runs `cdgate webhook serve`'s own uvicorn server (`make_server`) in a thread
on a free port, and `client()` is an httpx client that trusts only the test CA.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanner.webhook.server import ServeOptions, make_server


@dataclass
class CA:
    key: Any
    cert: Any
    path: Path


def make_ca(directory: Path, name: str = "cdgate test CA") -> CA:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CA(key, cert, path)


def issue(ca: CA, cert_path: Path, key_path: Path, common_name: str = "cdgate-webhook") -> int:
    """Write a serving certificate for 127.0.0.1 signed by `ca`; returns its serial number."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    serial = x509.random_serial_number()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Write the key first and the certificate last, as a renewal would: the pair only matches once both are in place.
    tmp_key, tmp_cert = key_path.with_suffix(".tmp-key"), cert_path.with_suffix(".tmp-cert")
    tmp_key.write_bytes(key_pem)
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_key.replace(key_path)
    tmp_cert.replace(cert_path)
    return serial


@pytest.fixture(autouse=True)
def collect_regorus_garbage():
    """Collect each test's garbage on the test's own thread.

    A compiled `RegoPolicySet` refers to itself (its per-thread engine
    builder is a bound method), so it is freed by the cycle collector, which
    runs on whichever thread happens to allocate: in these tests, often a
    webhook server's thread. regorus refuses to drop an engine on a thread
    other than its maker's, so each test's engines are collected here, on
    the thread that made them.
    """
    yield
    import gc

    gc.collect()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served_serial(port: int, ca_path: Path) -> int:
    """The serial number of the certificate a new TLS handshake on `port` presents (verified against the CA)."""
    from cryptography import x509

    context = ssl.create_default_context(cafile=str(ca_path))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number


@dataclass
class WebhookServer:
    options: ServeOptions
    ca: CA
    server: Any = None
    thread: threading.Thread | None = None
    state: Any = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.options.port}"

    def start(self, *, ready: bool = True) -> "WebhookServer":
        """Serve in a thread; wait until /readyz is 200 (`ready`) or until it answers at all."""
        self.server = make_server(self.options)
        self.state = self.server.webhook_state
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        with self.client() as http:
            while time.monotonic() < deadline:
                try:
                    if http.get("/readyz").status_code == 200 or not ready:
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError("webhook did not become ready")

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=30)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=str(self.ca.path)), timeout=30, **kwargs)


def start_webhook(tmp_path: Path, profile: Path | None = None, *, ready: bool = True, **options: Any) -> WebhookServer:
    ca = make_ca(tmp_path)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    issue(ca, cert, key)
    options.setdefault("threads", 4)  # each thread builds its engines at start-up; the tests need few
    serve = ServeOptions(host="127.0.0.1", port=free_port(), tls_cert=cert, tls_key=key, profile=profile,
                         cluster_watch=False, log_level="warning", **options)
    return WebhookServer(serve, ca).start(ready=ready)


@pytest.fixture
def webhook_factory(tmp_path):
    started: list[WebhookServer] = []

    def factory(profile: Path | None = None, **options: Any) -> WebhookServer:
        directory = tmp_path / f"server{len(started)}"
        directory.mkdir()
        server = start_webhook(directory, profile, **options)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def review(obj: dict | None, operation: str = "CREATE", *, old: dict | None = None, dry_run: bool = False,
           namespace: str | None = None, user: str = "alice@example.com", uid: str | None = None) -> dict:
    """An AdmissionReview v1 request as the API server sends it."""
    subject = obj if obj is not None else old or {}
    meta = subject.get("metadata", {})
    api_version = subject.get("apiVersion", "v1")
    group, _, version = api_version.rpartition("/")
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": subject.get("kind", "")},
            "resource": {"group": group, "version": version, "resource": subject.get("kind", "").lower() + "s"},
            "name": meta.get("name"),
            "namespace": namespace or meta.get("namespace"),
            "operation": operation,
            "userInfo": {"username": user, "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": old,
            "dryRun": dry_run,
            "options": None,
        },
    }


def post(http: httpx.Client, body: Any, **kwargs: Any) -> dict:
    response = http.post("/validate", json=body, **kwargs)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["apiVersion"] == "admission.k8s.io/v1" and data["kind"] == "AdmissionReview"
    return data["response"]


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Debian's docker-registry on 127.0.0.1 (the supply-chain tests' helper), once per session."""
    import shutil

    from supplychain.conftest import REGISTRY_BINARY, start_registry, stop_registry

    if shutil.which(REGISTRY_BINARY) is None:
        pytest.skip("docker-registry is not installed (make test installs it: apt-get install docker-registry)")
    running = start_registry(tmp_path_factory.mktemp("webhook-registry"))
    yield running
    stop_registry(running.process)


class HoldingRegistry:
    """A fake registry for stall tests: accepts TCP connections and answers nothing until `release()`.

    It stands in for a registry that hangs, which a real registry cannot be
    made to do on demand; `release()` closes every connection (the client
    then sees a connection error).
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.released = threading.Event()
        self.accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.released.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.accepted.set()

    def release(self) -> None:
        self.released.set()
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture
def holding_registry():
    held = HoldingRegistry()
    yield held
    held.release()
