"""Waivers and overrides cannot pass things quietly: typos, blanket waivers, endless waivers, unused waivers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from scanner.catalog import load_catalog
from scanner.errors import ConfigError
from scanner.gates.waivers import check_governance, rule_id_problem
from scanner.profile import load_profile

TODAY = dt.date(2026, 11, 22)

PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: registry.example.internal/web@sha256:{digest}
      securityContext:
        privileged: true
""".replace("{digest}", "a" * 64)


def profile_at(tmp_path: Path, text: str):
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return load_profile(path)


def governance_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check_governance(profile_at(tmp_path, text), load_catalog(), TODAY)
    return info.value


def test_waiver_for_an_unknown_rule_is_a_profile_error_with_suggestions(tmp_path):
    text = "waivers:\n  - rule: CDG-K8S-999\n    scope: all\n    reason: typo\n    owner: a\n    expires: '2027-01-01'\n"
    error = governance_error(tmp_path, text)
    assert "unknown rule id 'CDG-K8S-999'" in error.message and "did you mean CDG-K8S-" in error.message
    assert error.line == 2 and error.path.endswith("gate.yaml")


def test_override_with_letter_o_for_zero_suggests_the_real_id(tmp_path):
    error = governance_error(tmp_path, "fail_on: high\nrules:\n  CDG-K8S-0O1: {severity: low}\n")
    assert "unknown rule id 'CDG-K8S-0O1'" in error.message and "CDG-K8S-001" in error.message
    assert error.line == 3


def test_environment_override_ids_are_checked_too(tmp_path):
    error = governance_error(tmp_path, "environments:\n  prod:\n    rules:\n      CDG-K8S-0620: {severity: critical}\n")
    assert "environments.prod.rules" in error.message and "CDG-K8S-062" in error.message and error.line == 4


def test_globs_must_be_able_to_match_something_and_other_engines_ids_pass():
    known = sorted(load_catalog().rules)
    assert rule_id_problem("CDG-XYZ-*", known) is not None
    assert rule_id_problem("CDG-K8S-0*", known) is None
    for foreign in ("kyverno:require-labels/*", "rego:team.labels", "CKV_K8S_20", "gatekeeper:*", "cel:*", "*"):
        assert rule_id_problem(foreign, known) is None, foreign
    assert rule_id_problem("cdg-k8s-001", known) is not None  # ids are case-sensitive: this would match nothing


def test_blanket_waiver_without_resource_or_scope_all_is_refused(tmp_path):
    with pytest.raises(ConfigError) as info:
        profile_at(tmp_path, "waivers:\n  - rule: '*'\n    reason: make it pass\n    owner: a\n    expires: '2027-01-01'\n")
    assert "names no resource" in info.value.message and "scope: all" in info.value.hint and info.value.line == 2


def test_waivers_are_capped_at_max_days(tmp_path):
    long = "  - rule: CDG-K8S-001\n    scope: all\n    reason: forever\n    owner: a\n    expires: '2099-01-01'\n"
    error = governance_error(tmp_path, "waivers:\n" + long)
    assert "at most 180 days" in error.message and "2027-05-21" in error.hint

    in_a_year = long.replace("2099-01-01", "2027-11-01").replace("\n  ", "\n    ").replace("  - rule", "    - rule", 1)
    check_governance(profile_at(tmp_path, "waivers:\n  max_days: 400\n  items:\n" + in_a_year), load_catalog(), TODAY)
    error = governance_error(tmp_path, "waiver_policy: {max_days: 30}\nwaivers:\n" + long.replace("2099-01-01", "2027-01-21"))
    assert "at most 30 days" in error.message


def test_cli_blanket_waiver_no_longer_turns_a_failing_run_into_a_pass(tmp_path, cdgate):
    (tmp_path / "pod.yaml").write_text(PRIVILEGED)
    (tmp_path / "gate.yaml").write_text(
        "waivers:\n  - {rule: '*', scope: all, reason: make it pass, owner: a, expires: '2099-01-01'}\n"
    )
    result = cdgate("check", str(tmp_path), "-q")
    assert result.returncode == 2
    assert "gate.yaml:2" in result.stderr and "at most 180 days" in result.stderr


@pytest.mark.slow
def test_unused_waiver_is_reported_and_listed(tmp_path, cdgate):
    (tmp_path / "pod.yaml").write_text(PRIVILEGED)
    soon = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    (tmp_path / "gate.yaml").write_text(
        "waivers:\n"
        f"  - {{rule: CDG-K8S-001, resource: {{kind: Pod, name: web}}, reason: vendor pod, owner: team-a, expires: '{soon}'}}\n"
        f"  - {{rule: CDG-K8S-002, resource: {{name: gone}}, reason: fixed long ago, owner: team-b, expires: '{soon}'}}\n"
    )
    report = json.loads(cdgate("check", str(tmp_path), "-f", "json").stdout)
    unused = [f for f in report["findings"] if f["rule_id"] == "CDG-WVR-003"]
    assert len(unused) == 1 and "CDG-K8S-002" in unused[0]["message"] and unused[0]["severity"] == "info"
    assert unused[0]["location"]["start_line"] == 3

    listed = cdgate("waivers", "list", str(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert "owner team-a" in listed.stdout and "60 day(s) left" in listed.stdout
    assert "matched 1: CDG-K8S-001 on Pod/shop/web" in listed.stdout
    assert "matched: nothing" in listed.stdout
    rows = json.loads(cdgate("waivers", "list", str(tmp_path), "-f", "json").stdout)["waivers"]
    assert [len(r["matched"]) for r in rows] == [1, 0] and rows[0]["days_left"] == 60


def test_a_waiver_for_another_environment_is_not_reported_as_unused(tmp_path):
    from scanner.findings import Finding, Location, Severity
    from scanner.gates.waivers import apply_profile

    profile = profile_at(
        tmp_path,
        "waivers:\n  - {rule: CDG-K8S-001, resource: {name: web}, environments: [prod], reason: vendor pod, owner: a, "
        "expires: '2027-01-01'}\n",
    )
    finding = Finding("CDG-K8S-002", Severity.HIGH, "m", Location("a.yaml", 1, kind="Pod", name="web"), "rego", "manifest")
    for environment, reported in (("dev", False), ("prod", True)):
        outcome = apply_profile([finding], profile.for_environment(environment), load_catalog(), TODAY, tmp_path)
        assert any(f.rule_id == "CDG-WVR-003" for f in outcome.waiver_findings) is reported, environment
