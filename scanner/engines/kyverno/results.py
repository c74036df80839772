"""What the engine says about one rule and one resource, in Kyverno's words."""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, SKIP, ERROR, WARN = "pass", "fail", "skip", "error", "warn"


@dataclass
class RuleResult:
    """One rule's verdict on one resource (Kyverno's RuleResponse)."""

    policy: str  # policy key (`ns/name` for a namespaced Policy)
    rule: str
    status: str  # pass | fail | skip | error | warn
    message: str = ""
    path: tuple[str | int, ...] | None = None  # field the failing pattern points at
    action: str = "Audit"
    autogen_of: str | None = None
    # An evaluation error that Kubernetes' validator (failurePolicy Fail) turns into a denial:
    # `kyverno test` scores it as fail; the gate reports it as an error (exit 2).
    error_denies: bool = False
