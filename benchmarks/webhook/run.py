"""Load benchmark: `cdgate webhook serve` answering Pod reviews over TLS on loopback.

Starts the real server (`python -m scanner webhook serve`) with 1 and then 2
worker processes, the bundled Rego policies (and, with `--kyverno`, the
bundled Kyverno policies too), a certificate made here, and drives it with a
small asyncio HTTP/1.1 client over keep-alive TLS connections:

1. closed loop at several concurrencies: requests/s and p50/p95/p99;
2. open loop at a fixed rate (default 500 requests/s): latency measured from
   the moment each request was due, so a stalled server cannot hide its
   queue (no coordinated omission);
3. overload at 5x the best closed-loop rate: every request must be answered
   (allowed, denied, or the failure mode saying "overloaded" or "time
   budget") within the review budget plus slack; none may hang.

Every phase is bounded in time and count. Caches are warm: each phase
follows a warm-up on every connection.

    .venv/bin/python benchmarks/webhook/run.py [--seconds 4] [--rate 500] [--workers 1 2] [--kyverno] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from webhook.conftest import free_port, issue, make_ca, review  # noqa: E402
from webhook.profiles import pod  # noqa: E402

#: Slack beyond the review budget before a request counts as hung.
HANG_SLACK_S = 5.0


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    hung: int = 0  # sent, and not answered within the budget plus slack
    not_sent: int = 0  # open loop: no free connection before the deadline (the client's own backlog)
    service_max: float = 0.0  # longest time from writing a request to its answer (the server's own time, plus the wire)

    def add(self, latency: float, answer: str, service: float | None = None) -> None:
        self.latencies.append(latency)
        self.service_max = max(self.service_max, service if service is not None else latency)
        self.answers[answer] = self.answers.get(answer, 0) + 1

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            if not ordered:
                return float("nan")
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

        return {
            "phase": self.name,
            "load1": round(os.getloadavg()[0], 1),  # the machine is shared: read figures beside its load
            "requests": len(ordered),
            "req_per_s": round(len(ordered) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(pct(0.50), 2),
            "p95_ms": round(pct(0.95), 2),
            "p99_ms": round(pct(0.99), 2),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else float("nan"),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else float("nan"),
            "service_max_ms": round(self.service_max * 1000, 2),
            "answers": dict(sorted(self.answers.items())),
            "hung": self.hung,
            "not_sent": self.not_sent,
        }


class Connection:
    """One keep-alive TLS connection sending pre-encoded POST /validate requests."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
        self.reader, self.writer, self.request = reader, writer, request

    @classmethod
    async def open(cls, port: int, context: ssl.SSLContext, request: bytes) -> "Connection":
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        return cls(reader, writer, request)

    async def send(self) -> str:
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length)
        status = head.split(b" ", 2)[1]
        if status != b"200":
            return f"http-{status.decode()}"
        if b"overloaded" in body:
            return "failure-overload"
        if b"time budget" in body:
            return "failure-timeout"
        if b"not ready" in body:
            return "failure-not-ready"
        return "allowed" if b'"allowed":true' in body else "denied"

    def close(self) -> None:
        self.writer.close()


def encode_request(body: bytes) -> bytes:
    head = (
        "POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def closed_loop(port: int, context: ssl.SSLContext, request: bytes, concurrency: int, seconds: float, budget: float) -> Phase:
    phase = Phase(f"closed c={concurrency}")
    connections = [await Connection.open(port, context, request) for _ in range(concurrency)]
    for connection in connections:  # warm every connection (and the server's threads)
        for _ in range(20):
            await connection.send()
    deadline = time.perf_counter() + seconds

    async def worker(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                answer = await asyncio.wait_for(connection.send(), budget + HANG_SLACK_S)
            except asyncio.TimeoutError:
                phase.hung += 1
                return
            phase.add(time.perf_counter() - started, answer)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    phase.seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return phase


async def open_loop(port: int, context: ssl.SSLContext, request: bytes, rate: float, seconds: float, budget: float,
                    connections_max: int, name: str) -> Phase:
    """Requests due every 1/rate s; each waits for a free connection; latency counts from when it was due."""
    phase = Phase(name)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections_max):
        connection = await Connection.open(port, context, request)
        await connection.send()
        pool.put_nowait(connection)
    count = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        connection: Connection | None = None
        sent = 0.0
        try:
            async with asyncio.timeout(budget + HANG_SLACK_S):
                connection = await pool.get()
            async with asyncio.timeout(budget + HANG_SLACK_S):
                sent = time.perf_counter()
                answer = await connection.send()
        except TimeoutError:
            if connection is None:
                phase.not_sent += 1
            else:
                phase.hung += 1
            answer = ""
        except (OSError, asyncio.IncompleteReadError):
            answer = "connection-error"
        if connection is not None:
            if answer in ("", "connection-error"):  # a half-read response would poison the connection: replace it
                connection.close()
                connection = await Connection.open(port, context, request)
            pool.put_nowait(connection)
        if answer:
            now = time.perf_counter()
            phase.add(now - due, answer, now - sent)

    await asyncio.gather(*(one(start + i / rate) for i in range(count)))
    await asyncio.sleep(0)
    phase.seconds = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return phase


def start_server(directory: Path, workers: int, profile: Path, threads: int) -> tuple[subprocess.Popen, int, ssl.SSLContext]:
    ca = make_ca(directory)
    cert, key = directory / "tls.crt", directory / "tls.key"
    issue(ca, cert, key)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "webhook", "serve", "--host", "127.0.0.1", "--port", str(port), "--tls-cert", str(cert),
         "--tls-key", str(key), "--profile", str(profile), "--workers", str(workers), "--threads", str(threads),
         "--log-level", "warning", "--no-cluster-watch"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=open(directory / "server.log", "wb"),
    )
    context = ssl.create_default_context(cafile=str(ca.path))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if tls.recv(64).startswith(b"HTTP/1.1 200"):
                    return process, port, context
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server did not become ready; see {directory / 'server.log'}")


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    body = json.dumps(review(pod(name="bench"))).encode()
    request = encode_request(body)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        profile = directory / "gate.yaml"
        kyverno = "kyverno:\n  bundled: true\n" if args.kyverno else ""
        profile.write_text(f"version: 1\nname: bench\n{kyverno}webhook:\n  timeout_s: {args.budget}\n  max_in_flight: {args.max_in_flight}\n")
        for workers in args.workers:
            process, port, context = start_server(directory, workers, profile, args.threads)
            try:
                def report(phase: Phase) -> dict[str, object]:
                    row = {"workers": workers, **phase.summary()}
                    results.append(row)
                    print(json.dumps(row), flush=True)
                    return row

                best = 0.0
                for concurrency in args.concurrency:
                    row = report(asyncio.run(closed_loop(port, context, request, concurrency, args.seconds, args.budget)))
                    best = max(best, float(row["req_per_s"]))  # type: ignore[arg-type]
                report(asyncio.run(open_loop(port, context, request, args.rate, args.seconds, args.budget, 64, f"open {args.rate:g}/s")))
                overload = 5 * best
                report(asyncio.run(open_loop(port, context, request, overload, args.seconds, args.budget, 256,
                                             f"overload {overload:.0f}/s (5x)")))
            finally:
                process.terminate()
                process.wait(30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="Length of each phase.")
    parser.add_argument("--rate", type=float, default=500.0, help="Open-loop rate (requests/s).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--threads", type=int, default=4, help="Evaluation threads per worker.")
    parser.add_argument("--budget", type=float, default=2.0, help="webhook.timeout_s of the profile.")
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--kyverno", action="store_true", help="Also evaluate the bundled Kyverno policies.")
    parser.add_argument("--json", type=Path, help="Write all rows to this file.")
    args = parser.parse_args()
    results = run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
