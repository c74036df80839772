"""`cdgate webhook serve`: the validating admission webhook over the same gate as CI."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.commands._common import fail_closed


@click.group("webhook")
def webhook() -> None:
    """The validating admission webhook (admission.k8s.io/v1 at POST /validate)."""


@webhook.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8443, show_default=True, help="HTTPS port.")
@click.option("--tls-cert", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PEM certificate chain; reloaded when the file changes.")
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PEM private key; reloaded with the certificate.")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), help="gate.yaml (default: the built-in profile). Its webhook: section sets modes, failure mode and budget.")
@click.option("--env", "environment", metavar="ENV", help="Environment whose overrides apply (as `cdgate check --env`).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Directory policy paths are relative to (default: the profile's).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes sharing the socket.")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="Evaluation threads per worker.")
@click.option("--namespace-labels", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="YAML/JSON mapping namespace -> labels, for namespaceSelector policies; reread when it changes.")
@click.option("--policy-report-dir", type=click.Path(file_okay=False, path_type=Path), help="Write audit-mode results as wgpolicyk8s.io/v1alpha2 PolicyReport JSON files here.")
@click.option("--watch-interval", type=click.FloatRange(0.05, 600), default=2.0, show_default=True, help="Seconds between checks of the certificate and labels files.")
@click.option("--no-cluster-watch", is_flag=True, help="Do not watch Namespaces on the API server even when in a cluster.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True, help="JSON log level.")
@fail_closed
def serve(
    host: str,
    port: int,
    tls_cert: Path,
    tls_key: Path,
    profile_path: Path | None,
    environment: str | None,
    root: Path | None,
    workers: int,
    threads: int,
    namespace_labels: Path | None,
    policy_report_dir: Path | None,
    watch_interval: float,
    no_cluster_watch: bool,
    log_level: str,
) -> None:
    """Serve POST /validate with TLS, plus /healthz, /readyz and /metrics.

    A broken profile or certificate exits 2 before serving; a broken policy
    keeps /readyz at 503 and answers reviews with the failure mode.
    """
    from scanner.webhook.server import ServeOptions, serve as run

    run(
        ServeOptions(
            host=host,
            port=port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            profile=profile_path,
            environment=environment,
            root=root,
            workers=workers,
            threads=threads,
            namespace_labels=namespace_labels,
            policy_report_dir=policy_report_dir,
            watch_interval_s=watch_interval,
            log_level=log_level,
            cluster_watch=not no_cluster_watch,
        )
    )
