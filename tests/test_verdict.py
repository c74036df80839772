"""Exit codes and fingerprints: the contracts CI and code scanning rely on."""

from __future__ import annotations

from dataclasses import replace

from scanner.findings import AppliedWaiver, Finding, GateResult, Location, Outcome, Severity, Verdict


def f(severity=Severity.HIGH, outcome=Outcome.FAIL, line=10, waiver=None, json_path="spec.x"):
    return Finding(
        rule_id="CDG-K8S-001",
        severity=severity,
        message="m",
        location=Location("a.yaml", line, line, "Deployment", "ns", "web", json_path),
        engine="rego",
        gate="manifest",
        outcome=outcome,
        waiver=waiver,
    )


def verdict(*findings, fail_on=Severity.HIGH):
    return Verdict([GateResult("manifest", list(findings))], fail_on=fail_on)


def test_exit_codes():
    assert verdict().exit_code == 0
    assert verdict(f(Severity.MEDIUM)).exit_code == 0  # below fail_on
    assert verdict(f(Severity.MEDIUM), fail_on=Severity.MEDIUM).exit_code == 1
    assert verdict(f(Severity.CRITICAL)).exit_code == 1
    assert verdict(f(Severity.CRITICAL, outcome=Outcome.WARN)).exit_code == 0
    assert verdict(f(Severity.LOW, outcome=Outcome.ERROR)).exit_code == 2  # errors fail closed
    assert verdict(f(Severity.CRITICAL), f(Severity.INFO, outcome=Outcome.ERROR)).exit_code == 2


def test_waived_findings_do_not_fail_but_expired_waivers_do():
    valid = AppliedWaiver("CDG-K8S-001", "ok", "me", "2030-01-01")
    expired = replace(valid, expired=True)
    assert verdict(f(Severity.CRITICAL, waiver=valid)).exit_code == 0
    assert verdict(f(Severity.CRITICAL, waiver=expired)).exit_code == 1


def test_fingerprint_ignores_lines_but_not_identity():
    a = f(line=10)
    assert a.fingerprint == f(line=99).fingerprint
    assert a.fingerprint != f(json_path="spec.y").fingerprint
    other = replace(a, location=replace(a.location, name="api"))
    assert a.fingerprint != other.fingerprint
