"""What every report writer agrees on: finding order, levels and labels.

Keeping these in one place means the SARIF alert, the JUnit failure, the
Markdown row and the console line for one finding say the same thing in the
same order, run after run.
"""

from __future__ import annotations

from scanner.findings import Finding, GateResult, Outcome, Severity, Verdict, finding_sort_key

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
    return verdict.fails(finding)


# The one vocabulary for a finding's outcome, shared by the table, JSON, SARIF,
# Markdown, HTML and JUnit reports (and explained in the README's "Outcomes").
STATE_MEANINGS: dict[str, str] = {
    "error": "cdgate could not evaluate this; the run exits 2 and it cannot be waived",
    "fail": "fails the gate: a violation at or above fail_on",
    "expired-waiver": "fails the gate: a waiver matched it but has expired",
    "waived": "accepted by an active waiver; does not fail the gate",
    "warn": "reported only: an advisory rule, or a severity below fail_on",
    "unchanged": "merge gate: a violation already there at the base ref; blocks only with --all",
}
STATES: tuple[str, ...] = tuple(STATE_MEANINGS)


def state_of(finding: Finding, verdict: Verdict) -> str:
    """One word of `STATES` a person reads next to the finding.

    Advisory findings and violations under `fail_on` are one state, `warn`:
    for the reader both mean "reported, does not fail the gate". A merge-gate
    violation already present at the base ref is `unchanged`.
    """
    if finding.outcome is Outcome.ERROR:
        return "error"
    if finding.waived:
        return "waived"
    if finding.waiver is not None and finding.waiver.expired and is_failing(finding, verdict):
        return "expired-waiver"
    if is_failing(finding, verdict):
        return "fail"
    if finding.properties.get("cdgate/baselineState") == "unchanged" and finding.outcome is Outcome.FAIL:
        return "unchanged"  # merge gate: already there at base, so it does not block this change
    return "warn"


def state_counts(verdict: Verdict) -> dict[str, int]:
    """How many findings are in each of `STATES` (every state present, zeros included)."""
    counts = dict.fromkeys(STATES, 0)
    for finding in verdict.findings:
        counts[state_of(finding, verdict)] += 1
    return counts


def verdict_line(verdict: Verdict) -> str:
    """The one-line verdict (`-q`): status, failing count by severity, and the first error.

    Only failing findings are counted, so the numbers say why the gate failed;
    on an error, the error itself (what and where) comes first.
    """
    failing = verdict.failing()
    by_severity = [
        f"{n} {s.value}" for s in SEVERITIES if (n := sum(1 for f in failing if f.severity is s))
    ]
    counted = f"{len(failing)} failing finding(s)" + (f" ({', '.join(by_severity)})" if by_severity else "")
    errors = ordered(verdict.errors)
    if not errors:
        return f"{verdict.status.upper()}: {counted}"
    first = errors[0]
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    return (
        f"{verdict.status.upper()}: cdgate could not evaluate: {where(first)}: "
        f"{one_line(first.message, 300)}{more}; {counted}"
    )


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
