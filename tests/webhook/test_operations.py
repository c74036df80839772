"""Running the webhook: probes, metrics, JSON logs with the uid, and `cdgate webhook serve` shutting down gracefully."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from webhook.conftest import free_port, issue, make_ca, post, review, start_webhook
from webhook.profiles import pod
from webhook.test_signatures import signature_profile

REPO = Path(__file__).resolve().parents[2]


def test_probes_and_metrics(tmp_path):
    server = start_webhook(tmp_path)
    try:
        with server.client() as http:
            assert http.get("/healthz").text == "ok\n"
            assert http.get("/readyz").text == "ready\n"
            post(http, review(pod(name="bad", securityContext={"privileged": True})))
            post(http, review(pod(name="good")))
            http.post("/validate", content=b"{", headers={"content-type": "application/json"})
            metrics = http.get("/metrics")
    finally:
        server.stop()
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert 'cdgate_webhook_requests_total{answer="denied",operation="CREATE",reason="evaluated"} 1' in text
    assert 'cdgate_webhook_requests_total{answer="allowed",operation="CREATE",reason="evaluated"} 1' in text
    assert 'cdgate_webhook_decisions_total{outcome="deny",rule="CDG-K8S-001"} 1' in text
    assert 'cdgate_webhook_decisions_total{outcome="warn",rule="CDG-K8S-081"} 2' in text
    assert 'cdgate_webhook_invalid_reviews_total{status="400"} 1' in text
    assert "cdgate_webhook_request_duration_seconds_count 2" in text
    assert "cdgate_webhook_in_flight 0" in text


def test_broken_policy_keeps_the_replica_unready_and_reviews_get_the_failure_mode(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "broken.rego").write_text("package main\n\ndeny contains msg if {\n  input.kind ==\n}\n")
    profile = tmp_path / "gate.yaml"
    profile.write_text("version: 1\nname: broken\nrego:\n  policies: [policies]\n")
    server = start_webhook(tmp_path, profile, ready=False)
    try:
        with server.client() as http:
            deadline = time.monotonic() + 60
            while server.state.startup_error is None and time.monotonic() < deadline:
                time.sleep(0.05)
            ready = http.get("/readyz")
            response = post(http, review(pod(name="good")))
            assert http.get("/healthz").status_code == 200  # alive, only not ready
    finally:
        server.stop()
    assert ready.status_code == 503
    assert ready.text.startswith("not ready: policies could not be compiled:") and "broken.rego" in ready.text
    assert response["allowed"] is False
    assert response["status"]["message"].startswith("cdgate is not ready: policies could not be compiled:")
    assert response["status"]["message"].endswith("Pod/shop/good is denied because webhook.failure_mode is deny")


def _serve(tmp_path: Path, profile: Path, *extra: str) -> tuple[subprocess.Popen, httpx.Client, Path]:
    ca = make_ca(tmp_path)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    issue(ca, cert, key)
    port = free_port()
    log = tmp_path / "webhook.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "webhook", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--tls-cert", str(cert), "--tls-key", str(key), "--profile", str(profile), "--no-cluster-watch", *extra],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    import ssl

    http = httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=ssl.create_default_context(cafile=str(ca.path)), timeout=60)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if http.get("/readyz").status_code == 200:
                return process, http, log
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"cdgate webhook serve did not become ready: {log.read_text()}")


def _json_lines(log: Path) -> list[dict]:
    """Complete JSON log lines (a line still being written is skipped, not misread)."""
    entries = []
    for line in log.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


@pytest.mark.slow
@pytest.mark.registry
def test_serve_logs_json_with_the_uid_and_drains_in_flight_reviews_on_sigterm(tmp_path, holding_registry):
    from scanner.supplychain.keys import generate_private_key

    profile = signature_profile(tmp_path, (generate_private_key(),), [holding_registry.host], webhook="webhook:\n  timeout_s: 20\n")
    process, http, log = _serve(tmp_path, profile)
    try:
        answered = post(http, review(pod(name="bad", securityContext={"privileged": True}, image=f"registry.example.internal/x@sha256:{'e' * 64}"),
                                     uid="11111111-2222-3333-4444-555555555555"))
        assert answered["allowed"] is False
        result: dict = {}

        def held_review() -> None:
            result["response"] = post(http, review(pod(name="held", image=f"{holding_registry.host}/app@sha256:{'f' * 64}")))

        waiter = threading.Thread(target=held_review)
        waiter.start()
        assert holding_registry.accepted.wait(60)  # the review is in flight, waiting on the registry
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Shutting down" in e.get("message", "") for e in _json_lines(log)):
            time.sleep(0.05)
        assert process.poll() is None and waiter.is_alive()  # shutting down, still answering the review in flight
        holding_registry.release()
        waiter.join(60)
        http.close()  # the client's idle keep-alive connection would otherwise wait out the graceful-shutdown timeout
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        http.close()
    assert result["response"]["allowed"] is False and "[CDG-SUP-006]" in result["response"]["status"]["message"]
    lines = log.read_text().splitlines()
    entries = _json_lines(log)
    assert len(entries) == len(lines) > 3  # every line the server wrote is one JSON object, uvicorn's own too
    decided = [e for e in entries if e.get("uid") == "11111111-2222-3333-4444-555555555555"]
    assert len(decided) == 1
    entry = decided[0]
    assert entry["message"] == "admission review answered" and entry["level"] == "info"
    assert entry["allowed"] is False and entry["rules"]["CDG-K8S-001"] == "deny" and entry["resource"] == "Pod/shop/bad"
    assert entry["denial"].startswith("cdgate denied Pod/shop/bad")
    assert entry["user"] == "alice@example.com" and entry["dry_run"] is False and entry["duration_ms"] > 0
    assert any(e["message"] == "policies compiled; ready" for e in entries)
    assert [e["threads"] for e in entries if e["message"] == "review threads ready"] == [8]  # --threads default, warmed before serving


@pytest.mark.slow
def test_two_worker_processes_serve_and_stop(tmp_path):
    """Both workers start and compile their gates behind one socket; SIGTERM to the parent stops both with exit 0."""
    profile = tmp_path / "gate.yaml"
    profile.write_text("version: 1\nname: two\n")
    process, http, log = _serve(tmp_path, profile, "--workers", "2", "--log-level", "info")
    try:
        for index in range(6):
            assert post(http, review(pod(name=f"bad-{index}", securityContext={"privileged": True})))["allowed"] is False
        http.close()  # an idle keep-alive connection would hold a worker until its graceful-shutdown timeout
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_ready_entries(log)) < 2:  # the second worker may still be compiling
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        http.close()
    ready = _ready_entries(log)
    assert len(ready) == 2 and len({e["pid"] for e in ready}) == 2  # each worker compiled its own gates


def _ready_entries(log: Path) -> list[dict]:
    return [e for e in _json_lines(log) if e.get("message") == "policies compiled; ready"]
