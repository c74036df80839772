"""Namespace labels for namespaceSelector-style policies, without blocking evaluation.

An AdmissionReview does not carry the labels of the object's namespace, yet
Kyverno `namespaceSelector`s and exclusions by namespace label need them.
`NamespaceLabelStore` answers from memory; it is filled from a file
(`--namespace-labels FILE`: a YAML or JSON mapping of namespace name to its
labels, reread when it changes) and, inside a cluster, from a watch on the
API server through the optional `kubernetes` client running in a daemon
thread. A lookup never waits for either: an unknown namespace has no labels.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from scanner.errors import ConfigError
from scanner.webhook.jsonlog import logger

#: Reconnect delay after the watch fails (seconds).
WATCH_RETRY_S = 5.0
#: A watch call asks the API server to end the stream after this long, then watches again.
WATCH_TIMEOUT_S = 300


class NamespaceLabelStore:
    """Labels by namespace name, replaced wholesale or per namespace; safe from any thread."""

    def __init__(self) -> None:
        self._labels: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._file: Path | None = None
        self._file_stamp: tuple[int, int] | None = None

    def __call__(self, namespace: str) -> Mapping[str, str]:
        return self._labels.get(namespace, {})  # one dict read: never blocks on a writer

    def set(self, namespace: str, labels: Mapping[str, Any] | None) -> None:
        with self._lock:
            updated = dict(self._labels)
            if labels is None:
                updated.pop(namespace, None)
            else:
                updated[namespace] = {str(k): str(v) for k, v in labels.items()}
            self._labels = updated

    def replace(self, labels: Mapping[str, Mapping[str, Any]]) -> None:
        with self._lock:
            self._labels = {ns: {str(k): str(v) for k, v in (lbls or {}).items()} for ns, lbls in labels.items()}

    def load_file(self, path: Path) -> None:
        """Read `path` now (raises ConfigError naming the file when it is not a mapping of mappings)."""
        self._file = Path(path)
        self.replace(read_labels_file(self._file))
        st = os.stat(self._file)
        self._file_stamp = (st.st_mtime_ns, st.st_size)

    def reload_file_if_changed(self) -> bool:
        """Reread the file when it changed; a broken file keeps the previous labels (and is logged)."""
        if self._file is None:
            return False
        try:
            st = os.stat(self._file)
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) == self._file_stamp:
            return False
        try:
            self.replace(read_labels_file(self._file))
        except ConfigError as exc:
            logger().error("namespace labels not reloaded", extra={"fields": {"error": str(exc)}})
            return False
        finally:
            self._file_stamp = (st.st_mtime_ns, st.st_size)
        return True


def read_labels_file(path: Path) -> dict[str, dict[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read namespace labels: {exc.strerror}", path=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"namespace labels are not valid YAML: {exc}", path=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None for v in data.values()):
        raise ConfigError(
            "namespace labels must be a mapping of namespace name to a mapping of labels",
            path=str(path),
            hint="e.g. `shop: {team: payments, env: prod}`",
        )
    return {str(ns): dict(labels or {}) for ns, labels in data.items()}


def start_cluster_watch(
    store: NamespaceLabelStore, stop: threading.Event, configure: Callable[[], None] | None = None
) -> str | None:
    """Watch Namespaces through the `kubernetes` client in a daemon thread.

    `configure` loads the client's configuration (default: the in-cluster
    ServiceAccount). Returns why no watch was started (the client is not
    installed, or this is not a cluster), or None when the thread runs. The
    thread lists, then watches, and starts again after an error; lookups
    never wait for it.
    """
    try:
        from kubernetes import client, config, watch  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return "the kubernetes Python client is not installed (pip install 'cdgate[cluster]'); using --namespace-labels only"
    try:
        (configure or config.load_incluster_config)()
    except Exception as exc:  # noqa: BLE001 - any failure means: not in a cluster
        return f"not running in a cluster ({exc}); using --namespace-labels only"

    def run() -> None:
        api = client.CoreV1Api()
        while not stop.is_set():
            try:
                listed = api.list_namespace(_request_timeout=30)
                for item in listed.items:
                    store.set(item.metadata.name, item.metadata.labels or {})
                stream = watch.Watch().stream(
                    api.list_namespace,
                    resource_version=listed.metadata.resource_version,
                    timeout_seconds=WATCH_TIMEOUT_S,
                    _request_timeout=WATCH_TIMEOUT_S + 30,
                )
                for event in stream:
                    obj = event["object"]
                    store.set(obj.metadata.name, None if event["type"] == "DELETED" else (obj.metadata.labels or {}))
                    if stop.is_set():
                        break
            except Exception as exc:  # noqa: BLE001 - the watch restarts; evaluation goes on with what it has
                logger().warning("namespace watch failed; retrying", extra={"fields": {"error": str(exc)}})
                stop.wait(WATCH_RETRY_S)

    threading.Thread(target=run, name="cdgate-namespace-watch", daemon=True).start()
    return None

