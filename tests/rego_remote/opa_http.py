"""An OPA-compatible Data API on 127.0.0.1 whose evaluation is real OPA.

The HTTP layer is a few lines of `http.server`; every decision comes from
OPA itself, embedded through `opa-golib-python-bindings` (the Go OPA
library). `POST /v1/data/<path>` answers `{"result": <data.path>}` as OPA's
server does (no `result` when undefined). `mode` makes it misbehave for the
failure tests: `slow` (answers after `delay` seconds), `not-json`,
`error` (HTTP 500) or `flaky` (503 for the first `fail_first` calls).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class OpaHttpServer:
    """Start with `with OpaHttpServer(policies, data) as server:`; `server.url` is the base URL."""

    def __init__(self, policies: dict[str, str], data: dict[str, Any], *, token: str | None = None) -> None:
        from opa_bindings.engine import OpaEngine

        self.engine = OpaEngine()
        for path, text in policies.items():
            self.engine.add_policy(path, text)
        if data:
            self.engine.add_data(data)
        self.token = token
        self.mode = "normal"
        self.delay = 0.0
        self.fail_first = 0
        self.calls = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> OpaHttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.engine.close()

    def decide(self, path: str, input_value: Any) -> Any:
        from opa_bindings.engine import OpaUndefinedError

        with self.lock:
            try:
                return {"result": self.engine.eval_document(path, input_value)}
            except OpaUndefinedError:
                return {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.calls += 1
                    calls = server.calls
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._send(401, b'{"code": "unauthorized", "message": "missing or bad token"}')
                    return
                if server.mode == "slow":
                    time.sleep(server.delay)
                if server.mode == "not-json":
                    self._send(200, b"<html>please log in</html>", "text/html")
                    return
                if server.mode == "error":
                    self._send(500, b'{"code": "internal_error", "message": "eval failed"}')
                    return
                if server.mode == "flaky" and calls <= server.fail_first:
                    self._send(503, b'{"code": "unavailable"}')
                    return
                path = self.path.removeprefix("/v1/data").strip("/").replace("/", ".")
                self._send(200, json.dumps(server.decide(path, request.get("input"))).encode())

        return Handler


def bundled_sources(repo: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The bundled Rego policies and data, as the local engine loads them."""
    from scanner.engines.rego import BUNDLED_REGO_DIR, load_sources

    return load_sources([BUNDLED_REGO_DIR], root=repo)
