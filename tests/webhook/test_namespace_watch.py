"""The Namespace watch, with the real `kubernetes` client against a fake API server.

There is no Kubernetes API server here, so `FakeApiServer` stands in for
one: it serves `GET /api/v1/namespaces` (a NamespaceList) and, with
`watch=true`, a stream of watch events the test pushes. Everything on the
client side (configuration, list, watch, reconnect) is the real client.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scanner.webhook.namespaces import NamespaceLabelStore, start_cluster_watch

pytest.importorskip("kubernetes", reason="the kubernetes client is the optional cluster extra (pip install 'cdgate[cluster]')")


def namespace(name: str, labels: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels, "resourceVersion": "11"}}


class FakeApiServer:
    """A fake API server for the watch test: one list, then the events put on `events`."""

    def __init__(self, initial: list[dict]) -> None:
        self.events: queue.Queue[dict | None] = queue.Queue()
        self.watches = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if not self.path.startswith("/api/v1/namespaces"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if "watch=true" not in self.path.lower():
                    body = json.dumps({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": "10"},
                                       "items": initial}).encode()
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                fake.watches += 1
                self.send_header("Transfer-Encoding", "chunked")  # as the API server streams a watch
                self.end_headers()
                while (event := fake.events.get()) is not None:
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.events.put(None)
        self.httpd.shutdown()


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_watch_lists_then_follows_namespace_label_changes(tmp_path):
    from kubernetes import config

    api = FakeApiServer([namespace("shop", {"team": "payments"})])
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": api.url}}],
        "users": [{"name": "cdgate", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "cdgate"}}],
    }))
    store, stop = NamespaceLabelStore(), threading.Event()
    try:
        assert start_cluster_watch(store, stop, lambda: config.load_kube_config(config_file=str(kubeconfig))) is None
        assert wait_for(lambda: store("shop") == {"team": "payments"})
        assert wait_for(lambda: api.watches == 1)
        api.events.put({"type": "ADDED", "object": namespace("vault", {"tier": "restricted"})})
        assert wait_for(lambda: store("vault") == {"tier": "restricted"})
        api.events.put({"type": "MODIFIED", "object": namespace("shop", {"team": "retail"})})
        assert wait_for(lambda: store("shop") == {"team": "retail"})
        api.events.put({"type": "DELETED", "object": namespace("vault", {"tier": "restricted"})})
        assert wait_for(lambda: store("vault") == {})
    finally:
        stop.set()
        api.close()


def test_outside_a_cluster_no_watch_starts_and_the_reason_is_given():
    reason = start_cluster_watch(NamespaceLabelStore(), threading.Event())
    assert reason is not None and reason.startswith("not running in a cluster")
