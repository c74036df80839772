"""The serving certificate is replaced on disk while the webhook serves: new handshakes get the new one."""

from __future__ import annotations

import ssl
import time

import pytest

from webhook.conftest import issue, make_ca, post, review, served_serial, start_webhook
from webhook.profiles import pod


def wait_for_serial(port: int, ca_path, serial: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    seen = served_serial(port, ca_path)
    while seen != serial and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = served_serial(port, ca_path)
    return seen


def test_certificate_replaced_while_serving(tmp_path):
    server = start_webhook(tmp_path, watch_interval_s=0.1)
    port, options = server.options.port, server.options
    try:
        with server.client() as http:
            first = served_serial(port, server.ca.path)
            assert post(http, review(pod(name="bad", securityContext={"privileged": True})))["allowed"] is False
            # A renewal: a new key and certificate from the same CA replace the files.
            renewed = issue(server.ca, options.tls_cert, options.tls_key)
            assert renewed != first
            assert wait_for_serial(port, server.ca.path, renewed) == renewed
            # The keep-alive connection opened before the renewal still works, and so do new ones.
            assert post(http, review(pod(name="bad", securityContext={"privileged": True})))["allowed"] is False
        with server.client() as fresh:
            assert post(fresh, review(pod(name="good")))["allowed"] is True
        assert server.state.reloader.reloads == 1

        # A rotation to a new CA: clients that trust only the old CA are refused, the new CA's are served.
        new_ca = make_ca(tmp_path, "rotated CA")
        rotated = issue(new_ca, options.tls_cert, options.tls_key)
        assert _wait_untrusted(port, server.ca.path)
        assert served_serial(port, new_ca.path) == rotated
    finally:
        server.stop()


def _wait_untrusted(port: int, old_ca, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            served_serial(port, old_ca)
        except ssl.SSLCertVerificationError:
            return True
        time.sleep(0.05)
    return False


def test_half_written_pair_keeps_the_old_certificate(tmp_path):
    server = start_webhook(tmp_path, watch_interval_s=0.1)
    port, options = server.options.port, server.options
    try:
        first = served_serial(port, server.ca.path)
        other = tmp_path / "other"
        other.mkdir()
        issue(server.ca, other / "tls.crt", other / "tls.key")
        options.tls_key.write_bytes((other / "tls.key").read_bytes())  # key replaced, certificate not yet
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "cannot load" not in str(server.state.reloader.check().error):
            time.sleep(0.05)
        assert "cannot load" in str(server.state.reloader.check().error)
        assert served_serial(port, server.ca.path) == first
        options.tls_cert.write_bytes((other / "tls.crt").read_bytes())  # the pair is whole again
        with server.client() as http:
            renewed_serial = wait_for_serial(port, server.ca.path, _serial_of(other / "tls.crt"))
            assert renewed_serial == _serial_of(other / "tls.crt") != first
            assert post(http, review(pod(name="good")))["allowed"] is True
    finally:
        server.stop()


def _serial_of(path) -> int:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


@pytest.mark.parametrize("missing", ["tls_cert", "tls_key"])
def test_missing_certificate_file_stops_serve_with_exit_2(tmp_path, cdgate, missing):
    ca = make_ca(tmp_path)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    issue(ca, cert, key)
    (cert if missing == "tls_cert" else key).unlink()
    result = cdgate("webhook", "serve", "--host", "127.0.0.1", "--port", "1", "--tls-cert", str(cert), "--tls-key", str(key), "--no-cluster-watch")
    assert result.returncode == 2
    flag = "--tls-cert" if missing == "tls_cert" else "--tls-key"
    assert f"{flag} file not found" in result.stderr and "Traceback" not in result.stderr


def test_broken_profile_stops_serve_with_exit_2_and_the_line(tmp_path, cdgate):
    ca = make_ca(tmp_path)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    issue(ca, cert, key)
    profile = tmp_path / "gate.yaml"
    profile.write_text("version: 1\nwebhook:\n  mode: block\n")
    result = cdgate("webhook", "serve", "--host", "127.0.0.1", "--port", "1", "--tls-cert", str(cert), "--tls-key", str(key),
                    "--profile", str(profile), "--no-cluster-watch")
    assert result.returncode == 2
    assert f"{profile}:3:" in result.stderr and "invalid profile at webhook.mode" in result.stderr
    assert "Traceback" not in result.stderr
