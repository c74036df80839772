"""Findings, their locations and fingerprints, and the verdict of a run.

These dataclasses are the seam between gates and report writers: a gate turns
raw engine results into `Finding`s, the pipeline folds them into a `Verdict`,
and every report writer reads the verdict and nothing else.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    """Finding severity, ordered from most to least severe by `rank`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe: critical=4 ... info=0."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Parse a severity name case-insensitively; raise ValueError otherwise."""
        if isinstance(value, Severity):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (use one of: {names})") from None

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank

    @property
    def security_severity(self) -> str:
        """GitHub code scanning's numeric `security-severity` for this level."""
        return _SECURITY_SEVERITY[self]


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}


class Outcome(str, enum.Enum):
    """What a finding means for the gate."""

    FAIL = "fail"  # a violation; counts against fail_on
    WARN = "warn"  # advisory; never fails the gate
    ERROR = "error"  # cdgate could not evaluate; always fails closed (exit 2)


@dataclass(frozen=True)
class Location:
    """Where a finding points: a file and line, and the resource and field in it."""

    path: str  # repo-relative, forward slashes
    start_line: int | None = None
    end_line: int | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    json_path: str | None = None  # e.g. spec.template.spec.containers[0].image

    def resource(self) -> str:
        """`Kind/namespace/name` for people, with missing parts left out."""
        parts = [p for p in (self.kind, self.namespace, self.name) if p]
        return "/".join(parts)


@dataclass(frozen=True)
class AppliedWaiver:
    """A waiver that matched a finding (and whether it still applies)."""

    rule: str
    reason: str
    owner: str
    expires: str | None
    expired: bool = False
    index: int | None = None  # position of the waiver in gate.yaml's waivers


@dataclass
class Finding:
    """One thing a gate has to say about one resource (or about itself)."""

    rule_id: str
    severity: Severity
    message: str
    location: Location
    engine: str
    gate: str
    outcome: Outcome = Outcome.FAIL
    title: str | None = None
    help_uri: str | None = None
    remediation: str | None = None
    tags: tuple[str, ...] = ()
    scope: str | None = None  # environment or chart the resource was rendered for
    waiver: AppliedWaiver | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule_id, self.location, self.scope)

    @property
    def waived(self) -> bool:
        return self.waiver is not None and not self.waiver.expired

    @property
    def blocking(self) -> bool:
        """True when this finding can fail the gate (before `fail_on`)."""
        return self.outcome is not Outcome.WARN and not self.waived


def fails_gate(finding: Finding, fail_on: Severity) -> bool:
    """The one pass/fail rule: an unwaived violation at or above `fail_on` fails the gate.

    Errors are not counted here: they make the run exit 2 whatever the threshold.
    """
    return finding.outcome is Outcome.FAIL and not finding.waived and finding.severity.at_least(fail_on)


def finding_sort_key(finding: Finding) -> tuple[int, int, str, int, str, str, str, str, str]:
    """The one order of findings: errors first, then most severe, then file, line, rule, identity.

    The key ends in the fingerprint and message so two runs over the same
    input always produce byte-identical reports.
    """
    loc = finding.location
    return (
        0 if finding.outcome is Outcome.ERROR else 1,
        -finding.severity.rank,
        loc.path or "",
        loc.start_line or 0,
        finding.rule_id,
        loc.resource(),
        loc.json_path or "",
        finding.fingerprint,
        finding.message,
    )


def fingerprint(rule_id: str, location: Location, scope: str | None = None) -> str:
    """Stable identity of a finding, from resource identity and never from lines.

    Moving a resource within its file, or reformatting it, keeps its alerts;
    renaming the resource or the field makes a new alert, as it should.
    Resources without identity (a file that did not parse) fall back to the
    file path.
    """
    identity = location.kind or location.name
    parts = [
        rule_id,
        location.kind or "",
        location.namespace or "",
        location.name or "",
        location.json_path or "",
        scope or "",
        "" if identity else location.path,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass
class GateResult:
    """The findings of one gate, and whether it ran at all."""

    name: str
    findings: list[Finding] = field(default_factory=list)
    documents: int = 0
    skipped: str | None = None  # reason the gate did not run


@dataclass
class Verdict:
    """Everything report writers need: gates, findings, counts, the decision."""

    gates: list[GateResult]
    fail_on: Severity
    profile_name: str = "default"
    environment: str | None = None
    targets: tuple[str, ...] = ()
    notices: list[str] = field(default_factory=list)  # e.g. waivers about to expire
    duration_s: float = 0.0
    documents: int = 0  # documents loaded from the targets (each gate reports what it checked)
    root: str | None = None  # absolute directory that every Location.path is relative to

    @property
    def findings(self) -> list[Finding]:
        return [f for g in self.gates for f in g.findings]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.outcome is Outcome.ERROR]

    def fails(self, finding: Finding) -> bool:
        """Whether this finding fails the gate (the merge gate narrows it to new findings)."""
        return fails_gate(finding, self.fail_on)

    def failing(self) -> list[Finding]:
        """Findings that fail the gate: unwaived violations at or above fail_on."""
        return [f for f in self.findings if self.fails(f)]

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a gate failed, 2 cdgate could not evaluate (fails closed)."""
        if self.errors:
            return 2
        return 1 if self.failing() else 0

    @property
    def status(self) -> str:
        return {0: "passed", 1: "failed", 2: "error"}[self.exit_code]

    def counts(self) -> dict[str, int]:
        """Active (unwaived, non-warning) findings by severity name."""
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            if not f.waived:
                counts[f.severity.value] += 1
        return counts

    def gate_passed(self, gate: GateResult) -> bool:
        return not any(f.outcome is Outcome.ERROR or self.fails(f) for f in gate.findings)
