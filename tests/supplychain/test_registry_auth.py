"""Registry authentication against real docker-registry instances.

One registry uses htpasswd (HTTP Basic); the other uses distribution's token
auth, with a token service run here (`LocalTokenService`: a real HTTP
server issuing ES256 JWTs that the registry itself verifies against a root
certificate we generate). Credentials come from a docker config.json, as
for a user.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scanner.supplychain.errors import RegistryError
from scanner.supplychain.oci import RegistryOptions, open_repository
from scanner.supplychain.reference import parse_reference
from supplychain.conftest import REGISTRY_BINARY, start_registry, stop_registry
from supplychain.images import push_image

pytestmark = pytest.mark.registry

USER, PASSWORD = "alice", "s3cret-pw"
SERVICE, ISSUER = "cdgate-test-registry", "cdgate-test-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _bcrypt(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


class LocalTokenService:
    """A token endpoint for distribution's token auth: checks basic credentials, signs a JWT."""

    def __init__(self, workdir):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cdgate test token signer")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.root_bundle = workdir / "token-root.pem"
        self.root_bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self.requests: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                from urllib.parse import parse_qs, urlparse

                service.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                query = parse_qs(urlparse(self.path).query)
                body = json.dumps({"token": service.token(query.get("scope", []))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, utils

        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        r, s = utils.decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _docker_config(tmp_path, host: str, password: str = PASSWORD):
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(f"{USER}:{password}".encode()).decode()}}}))
    return path


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory):
    if shutil.which(REGISTRY_BINARY) is None:
        pytest.skip("docker-registry is not installed (make test installs it)")
    workdir = tmp_path_factory.mktemp("basic-registry")
    (workdir / "htpasswd").write_text(f"{USER}:{_bcrypt(PASSWORD)}\n")
    running = start_registry(workdir, f"auth:\n  htpasswd:\n    realm: cdgate-basic\n    path: {workdir / 'htpasswd'}\n")
    yield running
    stop_registry(running.process)


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    if shutil.which(REGISTRY_BINARY) is None:
        pytest.skip("docker-registry is not installed (make test installs it)")
    workdir = tmp_path_factory.mktemp("token-registry")
    service = LocalTokenService(workdir)
    running = start_registry(
        workdir,
        f"auth:\n  token:\n    realm: {service.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {service.root_bundle}\n",
    )
    yield running, service
    stop_registry(running.process)
    service.close()


def test_basic_auth_with_docker_config_credentials(basic_registry, tmp_path, signing_key):
    from scanner.supplychain.cosign import ImageTarget, TrustedKey, sign_image, verify_image_signatures
    from scanner.supplychain.rekor import TlogPolicy

    host = basic_registry.host
    reference = parse_reference(f"{host}/private/app:v1")
    options = RegistryOptions(insecure=frozenset({host}), docker_config=_docker_config(tmp_path, host))
    repo = open_repository(reference, options)
    digest = push_image(repo, "v1", {"app": b"private"})
    target = ImageTarget(reference.with_digest(digest), repo, digest)
    sign_image(target, signing_key)
    assert verify_image_signatures(target, [TrustedKey("k", signing_key.public_key())], TlogPolicy()).verified


def test_basic_auth_without_or_with_wrong_credentials_fails(basic_registry, tmp_path):
    host = basic_registry.host
    reference = parse_reference(f"{host}/private/app:v1")
    anonymous = open_repository(reference, RegistryOptions(insecure=frozenset({host}), docker_config=tmp_path / "none.json"))
    with pytest.raises(RegistryError, match="HTTP 401"):
        anonymous.get_manifest("v1")
    wrong = open_repository(reference, RegistryOptions(insecure=frozenset({host}), docker_config=_docker_config(tmp_path, host, "nope")))
    with pytest.raises(RegistryError, match="HTTP 401") as caught:
        wrong.get_manifest("v1")
    assert "nope" not in str(caught.value)


def test_bearer_token_flow(token_registry, tmp_path):
    running, service = token_registry
    host = running.host
    reference = parse_reference(f"{host}/team/app:v1")
    repo = open_repository(reference, RegistryOptions(insecure=frozenset({host}), docker_config=_docker_config(tmp_path, host)))
    digest = push_image(repo, "v1", {"app": b"token"})
    assert repo.get_manifest("v1").digest == digest
    from urllib.parse import parse_qs, urlparse

    scopes = {parse_qs(urlparse(r).query)["scope"][0] for r in service.requests}
    services = {parse_qs(urlparse(r).query)["service"][0] for r in service.requests}
    assert scopes == {"repository:team/app:pull,push", "repository:team/app:pull"}
    assert services == {SERVICE}
    assert len(service.requests) == 2  # one token per scope, reused for every later request


def test_bearer_token_refused_without_credentials(token_registry, tmp_path):
    running, _ = token_registry
    host = running.host
    repo = open_repository(parse_reference(f"{host}/team/app:v1"), RegistryOptions(insecure=frozenset({host}), docker_config=tmp_path / "none.json"))
    with pytest.raises(RegistryError, match="token service .* HTTP 401"):
        repo.get_manifest("v1")


def test_credentials_never_go_to_a_plain_http_token_service_elsewhere():
    import httpx

    from scanner.supplychain.auth import Credentials, fetch_bearer_token, parse_challenge

    scheme, params = parse_challenge('Bearer realm="http://auth.example.test/token",service="reg",scope="repository:a:pull"')
    assert (scheme, params["service"], params["scope"]) == ("bearer", "reg", "repository:a:pull")
    with httpx.Client() as client, pytest.raises(RegistryError, match="plain-HTTP token service"):
        fetch_bearer_token(client, "reg.example.test", params, "repository:a:pull", Credentials(USER, PASSWORD))


def test_docker_config_forms(tmp_path):
    from scanner.supplychain.auth import load_credentials

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw1").decode()},
        "https://ghcr.io": {"username": "gh", "password": "pw2"},
        "quay.io": {"identitytoken": "refresh-token"},
    }}))
    assert load_credentials("docker.io", path).password == "pw1"
    assert load_credentials("ghcr.io", path).username == "gh"
    assert load_credentials("quay.io", path).identity_token == "refresh-token"
    assert load_credentials("other.example.test", path) is None
    assert "pw1" not in repr(load_credentials("docker.io", path))
    path.write_text("{not json")
    with pytest.raises(RegistryError, match="cannot read docker config"):
        load_credentials("docker.io", path)
