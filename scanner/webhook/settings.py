"""The `webhook:` section of gate.yaml, as typed settings.

The section is validated with the rest of the profile (`WEBHOOK_SCHEMA` in
`scanner.profile_schema`); this module only turns the checked mapping into a
frozen `WebhookSettings` with the defaults filled in, and answers the two
questions the webhook asks of it per finding and per request: which mode a
rule is in, and whether a request is excluded.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Mapping

ENFORCE = "enforce"
AUDIT = "audit"
FAIL_DENY = "deny"
FAIL_ALLOW = "allow"


@dataclass(frozen=True)
class SignatureCacheSettings:
    ttl_s: float = 300.0
    failure_ttl_s: float = 10.0
    max_entries: int = 10_000


@dataclass(frozen=True)
class WebhookSettings:
    """How the webhook answers: modes, failure mode, budget, exclusions, bounds."""

    mode: str = ENFORCE
    rule_modes: Mapping[str, str] = field(default_factory=dict)
    failure_mode: str = FAIL_DENY
    timeout_s: float = 8.0
    operations: frozenset[str] = frozenset({"CREATE", "UPDATE"})
    exclude_namespaces: tuple[str, ...] = ("kube-system",)
    exclude_labels: Mapping[str, str] = field(default_factory=dict)
    max_request_bytes: int = 3 * 1024 * 1024
    max_in_flight: int = 64
    signature_cache: SignatureCacheSettings = SignatureCacheSettings()

    def rule_mode(self, rule_id: str) -> str:
        """Exact rule id first, then the first matching glob, then the profile-wide mode."""
        if rule_id in self.rule_modes:
            return self.rule_modes[rule_id]
        for pattern, mode in self.rule_modes.items():
            if fnmatch.fnmatchcase(rule_id, pattern):
                return mode
        return self.mode

    def exclusion(self, namespace: str | None, labels: Mapping[str, Any]) -> str | None:
        """Why a request is not evaluated (excluded namespace or label), or None."""
        if namespace and any(fnmatch.fnmatchcase(namespace, p) for p in self.exclude_namespaces):
            return f"namespace {namespace} is excluded (webhook.exclude_namespaces)"
        for key, value in self.exclude_labels.items():
            if key in labels and str(labels[key]) == value:
                return f"label {key}={value} is excluded (webhook.exclude_labels)"
        return None


def load_webhook_settings(section: Mapping[str, Any] | None) -> WebhookSettings:
    """Settings from a schema-checked `webhook:` mapping (None or empty gives the defaults)."""
    raw = dict(section or {})
    defaults = WebhookSettings()
    cache = raw.get("signature_cache") or {}
    return WebhookSettings(
        mode=raw.get("mode", defaults.mode),
        rule_modes=dict(raw.get("rules") or {}),
        failure_mode=raw.get("failure_mode", defaults.failure_mode),
        timeout_s=float(raw.get("timeout_s", defaults.timeout_s)),
        operations=frozenset(raw.get("operations", defaults.operations)),
        exclude_namespaces=tuple(raw.get("exclude_namespaces", defaults.exclude_namespaces)),
        exclude_labels=dict(raw.get("exclude_labels") or {}),
        max_request_bytes=int(raw.get("max_request_bytes", defaults.max_request_bytes)),
        max_in_flight=int(raw.get("max_in_flight", defaults.max_in_flight)),
        signature_cache=SignatureCacheSettings(
            ttl_s=float(cache.get("ttl_s", defaults.signature_cache.ttl_s)),
            failure_ttl_s=float(cache.get("failure_ttl_s", defaults.signature_cache.failure_ttl_s)),
            max_entries=int(cache.get("max_entries", defaults.signature_cache.max_entries)),
        ),
    )
