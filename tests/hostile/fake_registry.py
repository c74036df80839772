"""A fake, hostile OCI registry on 127.0.0.1 (a real registry cannot misbehave on demand).

Each route is `(method, path regex) -> handler(request) -> None`; a handler
writes the whole answer itself, so it can stream forever, drip bytes, send
malformed JSON or point an upload at another host. Every request is recorded
(method, path, Authorization header) so tests can check where credentials went.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = b"{}"
IMAGE_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:" + hashlib.sha256(EMPTY).hexdigest(), "size": 2},
        "layers": [],
    },
    separators=(",", ":"),
).encode()
IMAGE_DIGEST = "sha256:" + hashlib.sha256(IMAGE_MANIFEST).hexdigest()

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


@dataclass
class FakeRegistry:
    """A fake registry server; `routes` are tried in order, else a 404."""

    routes: list[tuple[str, str, Handler]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, pattern, handler))

    def start(self) -> "FakeRegistry":
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _dispatch(self) -> None:
                fake.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                for method, pattern, handler in fake.routes:
                    if method == self.command and re.fullmatch(pattern, self.path.split("?")[0]):
                        try:
                            handler(self)
                        except (BrokenPipeError, ConnectionResetError):
                            pass
                        return
                send(self, 404, b'{"errors":[{"code":"NOT_FOUND","message":"not here"}]}')

            do_GET = do_HEAD = do_POST = do_PUT = _dispatch

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json",
         headers: dict[str, str] | None = None) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(body)


def serve_image(request: BaseHTTPRequestHandler) -> None:
    send(request, 200, IMAGE_MANIFEST, OCI_MANIFEST, {"Docker-Content-Digest": IMAGE_DIGEST})


def stream_forever(request: BaseHTTPRequestHandler) -> None:
    """A body with no length that never ends."""
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    request.end_headers()
    chunk = b'{"token":"' + b"A" * 65536
    request.wfile.write(chunk)
    while True:
        request.wfile.write(b"A" * 65536)


def drip(request: BaseHTTPRequestHandler) -> None:
    """A manifest sent one byte every half second, the whole declared length eventually."""
    request.send_response(200)
    request.send_header("Content-Type", OCI_MANIFEST)
    request.send_header("Content-Length", str(len(IMAGE_MANIFEST)))
    request.end_headers()
    for byte in IMAGE_MANIFEST:
        request.wfile.write(bytes([byte]))
        request.wfile.flush()
        time.sleep(0.5)
