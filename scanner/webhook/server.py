"""`cdgate webhook serve`: uvicorn with TLS, one process or several sharing one socket.

`ServeOptions` is everything the command was given (plain values, so it can
be handed to worker processes). `build_state` loads the profile and makes
the app state; the gates themselves compile inside the app when it starts.
With `workers > 1` the parent binds the socket, starts that many worker
processes that each serve it, and on SIGTERM or SIGINT passes the signal on
and waits for them: each worker stops accepting, answers the reviews it has
in flight, and exits (uvicorn's graceful shutdown).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import socket
import ssl
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError
from scanner.webhook.jsonlog import configure_json_logging, logger

#: Extra time uvicorn gives in-flight reviews to finish on shutdown, beyond the review budget.
SHUTDOWN_GRACE_S = 2.0
#: The API server reuses its connections to webhooks; keep idle ones open this long (uvicorn's default is 5 s).
KEEP_ALIVE_S = 60


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    tls_cert: Path
    tls_key: Path
    profile: Path | None = None
    environment: str | None = None
    root: Path | None = None
    workers: int = 1
    threads: int = 8
    namespace_labels: Path | None = None
    policy_report_dir: Path | None = None
    watch_interval_s: float = 2.0
    log_level: str = "info"
    cluster_watch: bool = True


def build_state(options: ServeOptions) -> Any:
    """The app state for `options`: profile loaded and checked now, gates compiled when the app starts."""
    from scanner.gates.registry import create_gates
    from scanner.profile import load_profile
    from scanner.webhook.app import WebhookState
    from scanner.webhook.decision import Admitter
    from scanner.webhook.metrics import WebhookMetrics
    from scanner.webhook.namespaces import NamespaceLabelStore, start_cluster_watch
    from scanner.webhook.policy_report import PolicyReportWriter
    from scanner.webhook.settings import load_webhook_settings
    from scanner.webhook.gates import admission_gates
    from scanner.webhook.sigcache import MISS, SignatureCache

    profile = load_profile(options.profile).for_environment(options.environment)
    settings = load_webhook_settings(profile.webhook)
    root = (options.root or profile.base_dir).resolve()
    metrics = WebhookMetrics()
    store = NamespaceLabelStore()
    if options.namespace_labels is not None:
        store.load_file(options.namespace_labels)
    if options.cluster_watch:
        why_not = start_cluster_watch(store, threading.Event())
        if why_not:
            logger().info("no namespace watch", extra={"fields": {"reason": why_not}})

    def on_cache(event: str, verdict: Any) -> None:
        metrics.inc("cdgate_webhook_signature_cache_total", result=event)
        if event == MISS and verdict.error is not None:
            metrics.inc("cdgate_webhook_registry_errors_total")

    cache = SignatureCache(settings.signature_cache, listener=on_cache)

    def build_admitter() -> Admitter:
        from scanner.catalog import load_catalog
        from scanner.gates.waivers import check_governance

        # the same profile rules as `cdgate check`: unknown rule ids, waivers without a resource, max_days
        check_governance(profile, load_catalog(), dt.date.today())
        adapted = admission_gates(create_gates(profile, root), cache)
        if adapted.cross_resource_packages:
            logger().info("cross-resource policies left to CI", extra={"fields": {"packages": list(adapted.cross_resource_packages)}})
        return Admitter(profile, adapted.gates, settings, root=root, namespace_labels=store)

    return WebhookState(
        settings=settings,
        build_admitter=build_admitter,
        threads=options.threads,
        metrics=metrics,
        namespace_store=store,
        policy_reports=PolicyReportWriter(options.policy_report_dir) if options.policy_report_dir else None,
        watch_interval_s=options.watch_interval_s,
    )


def make_server(options: ServeOptions) -> Any:
    """A uvicorn `Server` for `options`, TLS context loaded and watched for certificate changes."""
    import uvicorn

    from scanner.webhook.app import create_app
    from scanner.webhook.tls import CertificateReloader

    for path, what in ((options.tls_cert, "--tls-cert"), (options.tls_key, "--tls-key")):
        if not Path(path).is_file():
            raise ConfigError(f"{what} file not found", path=str(path), hint="mount the webhook's TLS Secret there")
    state = build_state(options)
    config = uvicorn.Config(
        create_app(state),
        host=options.host,
        port=options.port,
        ssl_certfile=str(options.tls_cert),
        ssl_keyfile=str(options.tls_key),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(state.settings.timeout_s + SHUTDOWN_GRACE_S + 0.999),
        timeout_keep_alive=KEEP_ALIVE_S,
        server_header=False,
    )
    try:
        config.load()
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot load the TLS certificate and key: {exc}", path=str(options.tls_cert)) from None
    assert isinstance(config.ssl, ssl.SSLContext)
    state.reloader = CertificateReloader(config.ssl, options.tls_cert, options.tls_key)
    server = uvicorn.Server(config)
    server.webhook_state = state  # type: ignore[attr-defined]  # for tests and the benchmark
    return server


def _exit_zero_on_sigterm() -> None:
    """uvicorn drains, restores the previous SIGTERM handler and raises the signal again: let that be exit 0.

    A pod stopped by Kubernetes then ends with status 0 after answering what it had in flight.
    """

    def stopped(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)


def serve(options: ServeOptions) -> None:
    """Serve until SIGTERM/SIGINT; with several workers, supervise them."""
    configure_json_logging(options.log_level)
    if options.workers <= 1:
        server = make_server(options)
        _exit_zero_on_sigterm()
        server.run()
        return
    make_server(replace(options, cluster_watch=False))  # fail here, once, for a bad profile or certificate
    sock = socket.socket(socket.AF_INET6 if ":" in options.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((options.host, options.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(options, sock), name=f"cdgate-webhook-{i}") for i in range(options.workers)]
    for worker in workers:
        worker.start()
    logger().info("serving", extra={"fields": {"host": options.host, "port": options.port, "workers": options.workers}})

    def forward(signum: int, _frame: Any) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                try:
                    os.kill(worker.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()
    sock.close()


def _worker(options: ServeOptions, sock: socket.socket) -> None:
    configure_json_logging(options.log_level)
    server = make_server(options)
    _exit_zero_on_sigterm()
    server.run(sockets=[sock])
