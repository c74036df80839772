"""What every report writer agrees on: finding order, levels and labels.

Keeping these in one place means the SARIF alert, the JUnit failure, the
Markdown row and the console line for one finding say the same thing in the
same order, run after run.
"""

from __future__ import annotations

from scanner.findings import Finding, GateResult, Outcome, Severity, Verdict, fails_gate, finding_sort_key

# Most severe first; reports list findings in this order.
SEVERITIES: tuple[Severity, ...] = tuple(sorted(Severity, key=lambda s: -s.rank))

STATUS_HEADLINE = {
    "passed": "every gate passed",
    "failed": "a gate failed",
    "error": "cdgate could not evaluate, so it fails closed",
}


def ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_sort_key)


def is_failing(finding: Finding, verdict: Verdict) -> bool:
    """True when this finding is one of the reasons the verdict failed."""
    return fails_gate(finding, verdict.fail_on)


def state_of(finding: Finding, verdict: Verdict) -> str:
    """One word a person reads next to the finding.

    `error` (could not evaluate), `fail` (fails the gate), `waived`,
    `expired-waiver` (a waiver matched but has expired, so it fails again),
    `warn` (advisory) or `below-threshold` (a violation under `fail_on`).
    """
    if finding.outcome is Outcome.ERROR:
        return "error"
    if finding.waived:
        return "waived"
    if finding.outcome is Outcome.WARN:
        return "warn"
    if finding.waiver is not None and finding.waiver.expired and is_failing(finding, verdict):
        return "expired-waiver"
    if is_failing(finding, verdict):
        return "fail"
    return "below-threshold"


def gate_state(gate: GateResult, verdict: Verdict) -> str:
    """`skipped`, `error` (could not evaluate), `failed` or `passed`."""
    if gate.skipped is not None:
        return "skipped"
    if any(f.outcome is Outcome.ERROR for f in gate.findings):
        return "error"
    return "passed" if verdict.gate_passed(gate) else "failed"


def where(finding: Finding) -> str:
    """`path:line` (or just the path when the line is unknown)."""
    loc = finding.location
    path = loc.path or "(no file)"
    return f"{path}:{loc.start_line}" if loc.start_line else path


def resource_label(finding: Finding) -> str:
    """`Kind/namespace/name`, or `-` for findings about no resource."""
    return finding.location.resource() or "-"


def waived_findings(verdict: Verdict) -> list[Finding]:
    return [f for f in verdict.findings if f.waived]


def expired_waiver_findings(verdict: Verdict) -> list[Finding]:
    return [f for f in verdict.findings if f.waiver is not None and f.waiver.expired]


def safe_http_url(uri: str | None) -> str | None:
    """Return `uri` only when it is an http(s) URL, so no report links to `javascript:`."""
    if not uri:
        return None
    lowered = uri.strip().lower()
    if lowered.startswith("https://") or lowered.startswith("http://"):
        return uri.strip()
    return None


def one_line(text: str, limit: int | None = None) -> str:
    """Collapse whitespace and newlines to single spaces; cut to `limit` characters."""
    flat = " ".join(str(text).split())
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 0)] + "…"
    return flat


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]}


def printable(text: str) -> str:
    """`text` with control characters (ESC, NUL, C1...) shown as `\\xNN` escapes.

    Names and messages come from manifests a pull request wrote; printed raw,
    an ESC sequence could clear the CI log or forge lines of output.
    """
    return str(text).translate(_CONTROL)
