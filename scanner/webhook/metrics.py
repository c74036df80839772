"""Prometheus metrics in the text exposition format (version 0.0.4), without a client library.

The webhook needs a handful of counters, one gauge and one histogram; they
are kept here behind one lock and rendered by `WebhookMetrics.render`.
"""

from __future__ import annotations

import threading
from collections import defaultdict

#: Latency buckets in seconds: the webhook aims at single-digit milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class WebhookMetrics:
    """Counters, the in-flight gauge and the latency histogram of one webhook process."""

    COUNTERS = {
        "cdgate_webhook_requests_total": "Admission reviews answered, by operation and answer.",
        "cdgate_webhook_decisions_total": "Findings in answered reviews, by rule and outcome (deny, audit, warn, waived, error).",
        "cdgate_webhook_failure_mode_total": "Reviews answered by the failure mode, by reason (error, timeout, overload, not_ready).",
        "cdgate_webhook_signature_cache_total": "Image verification lookups, by result (hit, miss, coalesced).",
        "cdgate_webhook_registry_errors_total": "Registry errors while verifying images.",
        "cdgate_webhook_invalid_reviews_total": "Request bodies refused with a 4xx status, by status.",
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {name: defaultdict(float) for name in self.COUNTERS}
        self._buckets = [0] * len(LATENCY_BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0
        self.in_flight = 0

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._counters[name][key] += amount

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def add_in_flight(self, delta: int) -> int:
        """Change the in-flight gauge; returns the new value."""
        with self._lock:
            self.in_flight += delta
            return self.in_flight

    def observe_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency_sum += seconds
            self._latency_count += 1
            for index, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self._buckets[index] += 1

    def render(self) -> str:
        """All metrics in the Prometheus text format."""
        out: list[str] = []
        with self._lock:
            for name, help_text in self.COUNTERS.items():
                out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                for labels, value in sorted(self._counters[name].items()):
                    out.append(f"{name}{_labels(labels)} {value:g}")
            out += ["# HELP cdgate_webhook_in_flight Evaluations running or queued.", "# TYPE cdgate_webhook_in_flight gauge",
                    f"cdgate_webhook_in_flight {self.in_flight}"]
            name = "cdgate_webhook_request_duration_seconds"
            out += [f"# HELP {name} Time from receiving a review to answering it.", f"# TYPE {name} histogram"]
            for bound, count in zip(LATENCY_BUCKETS, self._buckets):
                out.append(f'{name}_bucket{{le="{bound:g}"}} {count}')
            out += [f'{name}_bucket{{le="+Inf"}} {self._latency_count}', f"{name}_sum {self._latency_sum:.6f}",
                    f"{name}_count {self._latency_count}"]
        return "\n".join(out) + "\n"
