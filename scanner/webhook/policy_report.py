"""Audit results as `wgpolicyk8s.io/v1alpha2` PolicyReport objects (JSON files).

Dashboards that read the Policy WG's reports (Policy Reporter and others)
can show what the webhook let through in audit mode. One file per resource,
`<dir>/<namespace or _cluster>/<kind>-<name>.json`, replaced atomically on
each new audit result for that resource.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from scanner.findings import Finding, Outcome
from scanner.report.atomic import atomic_write_text
from scanner.webhook.decision import Decision
from scanner.webhook.review import Review

API_VERSION = "wgpolicyk8s.io/v1alpha2"
SOURCE = "cdgate"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:200] or "_"


def _result(finding: Finding, result: str, seconds: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "source": SOURCE,
        "policy": finding.rule_id,
        "rule": finding.rule_id,
        "result": result,
        "severity": finding.severity.value,
        "scored": True,
        "message": finding.message,
        "timestamp": {"seconds": seconds, "nanos": 0},
    }
    if finding.title:
        entry["category"] = finding.title
    if finding.location.json_path:
        entry["properties"] = {"field": finding.location.json_path}
    return entry


def policy_report(review: Review, decision: Decision, now: float | None = None) -> dict[str, Any]:
    """The PolicyReport for one reviewed object: audited failures as `fail`, the rest as `warn`/`error`."""
    seconds = int(now if now is not None else time.time())
    audited = {id(f) for f in decision.audited}
    denied = {id(f) for f in decision.denied}
    results = []
    for finding in decision.findings:
        if finding.waived:
            continue
        if id(finding) in audited:
            results.append(_result(finding, "fail", seconds))
        elif finding.outcome is Outcome.ERROR:
            results.append(_result(finding, "error", seconds))
        elif id(finding) not in denied:
            results.append(_result(finding, "warn", seconds))
    subject: dict[str, Any] = review.subject or {}
    raw_meta = subject.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = review.name or str(meta.get("name") or "")
    namespace = review.namespace or meta.get("namespace")
    summary = {key: sum(1 for r in results if r["result"] == key) for key in ("pass", "fail", "warn", "error", "skip")}
    report: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "PolicyReport",
        "metadata": {"name": _safe(f"cdgate-{review.kind}-{name}".lower()), "labels": {"app.kubernetes.io/managed-by": "cdgate"}},
        "scope": {"apiVersion": subject.get("apiVersion"), "kind": review.kind, "name": name},
        "summary": summary,
        "results": results,
    }
    if namespace:
        report["metadata"]["namespace"] = namespace
        report["scope"]["namespace"] = namespace
    if meta.get("uid"):
        report["scope"]["uid"] = meta["uid"]
    return report


class PolicyReportWriter:
    """Writes one PolicyReport file per audited resource under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, review: Review) -> Path:
        return self.directory / _safe(review.namespace or "_cluster") / f"{_safe(review.kind)}-{_safe(review.name or 'unnamed')}.json"

    def write(self, review: Review, decision: Decision) -> Path:
        path = self.path_for(review)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(policy_report(review, decision), indent=2, sort_keys=True) + "\n")
        return path
