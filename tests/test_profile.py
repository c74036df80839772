"""gate.yaml: validation errors that name the line, defaults, env overrides, waivers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.errors import ConfigError
from scanner.findings import Finding, Location, Outcome, Severity
from scanner.gates.waivers import apply_profile
from scanner.profile import load_profile

TODAY = dt.date(2026, 11, 22)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return path


def finding(rule="CDG-K8S-001", kind="Deployment", ns="shop", name="cart", severity=Severity.HIGH, scope=None):
    return Finding(
        rule_id=rule,
        severity=severity,
        message="m",
        location=Location(path="a.yaml", start_line=3, kind=kind, namespace=ns, name=name, json_path="spec"),
        engine="rego",
        gate="manifest",
        scope=scope,
    )


def test_default_profile_when_none_given():
    profile = load_profile(None)
    assert profile.fail_on is Severity.HIGH
    assert profile.gate_enabled("manifest")
    assert not profile.gate_enabled("signature")


def test_schema_error_names_the_line_of_the_bad_key(tmp_path):
    path = write(tmp_path, "fail_on: high\nrules:\n  CDG-K8S-001:\n    severity: extreme\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert info.value.line == 4
    assert "rules.CDG-K8S-001.severity" in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_top_level_key_is_refused(tmp_path):
    path = write(tmp_path, "fail_on: high\nfial_on: low\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert "fial_on" in str(info.value)


def test_malformed_yaml_names_line_and_column(tmp_path):
    path = write(tmp_path, "fail_on: high\nwaivers: [\n  - rule: x\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert info.value.line is not None and info.value.line >= 2


def test_waiver_without_expiry_is_refused(tmp_path):
    path = write(tmp_path, "waivers:\n  - rule: CDG-K8S-001\n    reason: legacy\n    owner: team-a\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert "expires" in str(info.value)
    assert info.value.line == 2


def test_environment_override_is_stricter(tmp_path):
    path = write(
        tmp_path,
        "fail_on: high\nenvironments:\n  prod:\n    fail_on: medium\n    rules:\n      CDG-K8S-010: {severity: critical}\n",
    )
    profile = load_profile(path)
    assert profile.for_environment("dev").fail_on is Severity.HIGH
    prod = profile.for_environment("prod")
    assert prod.fail_on is Severity.MEDIUM
    assert prod.rule_override("CDG-K8S-010").severity is Severity.CRITICAL


WAIVERS = """
waivers:
  - rule: CDG-K8S-001
    resource: {kind: Deployment, namespace: shop, name: "car*"}
    reason: vendor image needs it until 2027
    owner: team-shop
    expires: "2027-03-01"
  - rule: CDG-K8S-002
    scope: all
    reason: old
    owner: team-old
    expires: 2026-01-31
  - rule: "CDG-K8S-00[3]"
    resource: {kind: Deployment}
    reason: soon
    owner: team-soon
    expires: 2026-11-30
"""


def test_waivers_apply_expire_and_warn(tmp_path):
    profile = load_profile(write(tmp_path, WAIVERS))
    catalog = load_catalog()
    findings = [finding("CDG-K8S-001"), finding("CDG-K8S-001", name="other"), finding("CDG-K8S-002"), finding("CDG-K8S-003")]
    outcome = apply_profile(findings, profile, catalog, TODAY, tmp_path)
    waived = {(f.rule_id, f.location.name): f.waived for f in outcome.findings}
    assert waived[("CDG-K8S-001", "cart")] is True
    assert waived[("CDG-K8S-001", "other")] is False  # selector does not match
    assert waived[("CDG-K8S-002", "cart")] is False  # expired: stops applying
    expired = next(f for f in outcome.findings if f.rule_id == "CDG-K8S-002")
    assert expired.waiver is not None and expired.waiver.expired
    assert waived[("CDG-K8S-003", "cart")] is True  # still valid, expiring soon
    about = {f.rule_id: f for f in outcome.waiver_findings}
    assert set(about) == {"CDG-WVR-001", "CDG-WVR-002"}
    assert about["CDG-WVR-001"].location.path == "gate.yaml"
    expired_line = WAIVERS.splitlines().index("  - rule: CDG-K8S-002") + 1
    assert about["CDG-WVR-001"].location.start_line == expired_line
    assert all(f.outcome is Outcome.WARN for f in outcome.waiver_findings)
    assert any("expires in 8 day" in n for n in outcome.notices)


def test_disabled_rule_and_severity_override(tmp_path):
    profile = load_profile(write(tmp_path, "rules:\n  CDG-K8S-001: {disabled: true}\n  'kyverno:*': {severity: low}\n"))
    outcome = apply_profile(
        [finding("CDG-K8S-001"), finding("kyverno:p/r")], profile, load_catalog(), TODAY, tmp_path
    )
    assert [f.rule_id for f in outcome.findings] == ["kyverno:p/r"]
    assert outcome.findings[0].severity is Severity.LOW


def test_errors_cannot_be_waived_or_disabled(tmp_path):
    profile = load_profile(
        write(tmp_path, "rules:\n  CDG-ERR-001: {disabled: true}\nwaivers:\n  - {rule: '*', scope: all, reason: all of it, owner: x, expires: '2030-01-01'}\n")
    )
    error = finding("CDG-ERR-001")
    error.outcome = Outcome.ERROR
    outcome = apply_profile([error], profile, load_catalog(), TODAY, tmp_path)
    assert outcome.findings == [error]
    assert not outcome.findings[0].waived


def test_profile_digest_changes_with_content(tmp_path):
    a = load_profile(write(tmp_path, "fail_on: high\n"))
    b = load_profile(write(tmp_path, "fail_on: low\n"))
    assert a.digest != b.digest and len(a.digest) == 64
