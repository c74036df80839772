"""JSON report: documented shape, every contract field, deterministic order."""

from __future__ import annotations

import json
import random

import jsonschema
from report_verdicts import HOSTILE_MESSAGE, clean_verdict, mixed_findings, mixed_verdict

from scanner.findings import GateResult, Severity, Verdict
from scanner.report.json_report import REPORT_SCHEMA, SCHEMA_VERSION, build_json_report, render_json


def test_report_matches_its_published_schema():
    report = json.loads(render_json(mixed_verdict(with_error=True)))
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    errors = list(jsonschema.Draft202012Validator(REPORT_SCHEMA).iter_errors(report))
    assert not errors, [e.message for e in errors[:5]]
    assert report["schema_version"] == SCHEMA_VERSION


def test_verdict_status_exit_code_and_counts():
    report = build_json_report(mixed_verdict())
    assert report["verdict"]["status"] == "failed"
    assert report["verdict"]["exit_code"] == 1
    assert report["verdict"]["environment"] == "prod"
    counts = report["counts"]
    # active = not waived: the waived CDG-K8S-003 (high) is left out, the expired one counts.
    assert counts["by_severity"] == {"critical": 1, "high": 2, "medium": 2, "low": 1, "info": 1}
    assert counts["failing"] == 3  # critical, host network, expired waiver
    assert counts["waived"] == 1 and counts["expired_waivers"] == 1
    assert counts["warnings"] == 4 and counts["errors"] == 0  # the `warn` state: one advisory, three below fail_on
    assert counts["by_state"] == {"error": 0, "fail": 2, "expired-waiver": 1, "waived": 1, "warn": 4, "unchanged": 0}
    assert counts["total"] == len(mixed_findings())


def test_errors_make_status_error_and_exit_2():
    report = build_json_report(mixed_verdict(with_error=True))
    assert (report["verdict"]["status"], report["verdict"]["exit_code"]) == ("error", 2)
    assert report["findings"][0]["state"] == "error", "errors come first"


def test_findings_carry_every_contract_field():
    report = build_json_report(mixed_verdict())
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    priv = by_rule["CDG-K8S-001"]
    source = mixed_findings()[0]
    assert priv["message"] == HOSTILE_MESSAGE
    assert priv["fingerprint"] == source.fingerprint
    assert priv["location"]["start_line"] == 21
    assert priv["location"]["resource"] == "Deployment/shop/api"
    assert priv["location"]["json_path"] == "spec.template.spec.containers[0].securityContext.privileged"
    assert priv["help_uri"] == "https://cdgate.example/rules/CDG-K8S-001"
    assert priv["remediation"] and priv["tags"] == ["pss:baseline", "cis:5.2.1"]
    assert priv["scope"] == "prod" and priv["state"] == "fail"
    waived = by_rule["CDG-K8S-003"]
    assert waived["state"] == "waived"
    assert waived["waiver"] == {
        "rule": "CDG-K8S-003",
        "reason": "debug pod needs host PID | <b>temporarily</b>",
        "owner": "platform-team",
        "expires": "2099-01-31",
        "expired": False,
    }
    assert by_rule["CDG-K8S-004"]["state"] == "expired-waiver"
    assert by_rule["CDG-K8S-004"]["waiver"]["expired"] is True
    assert by_rule["CDG-K8S-010"]["state"] == "warn"  # below fail_on: same word as an advisory rule
    assert by_rule["CDG-K8S-020"]["state"] == "warn"
    assert by_rule["CDG-K8S-005"]["location"]["start_line"] is None


def test_gates_and_notices():
    report = build_json_report(mixed_verdict())
    gates = {g["name"]: g for g in report["gates"]}
    assert gates["manifest"]["passed"] is False and gates["manifest"]["failing"] == 3
    assert gates["signature"]["skipped"] == "no registry configured"
    assert report["notices"] and "expires in 5 days" in report["notices"][0]


def test_order_is_deterministic_whatever_order_gates_produced():
    findings = mixed_findings()
    shuffled = findings[:]
    random.Random(7).shuffle(shuffled)
    one = Verdict(gates=[GateResult("manifest", findings, 12)], fail_on=Severity.HIGH)
    two = Verdict(gates=[GateResult("manifest", shuffled, 12)], fail_on=Severity.HIGH)
    assert render_json(one) == render_json(two)
    severities = [f["severity"] for f in build_json_report(one)["findings"]]
    ranks = [Severity(s).rank for s in severities]
    assert ranks == sorted(ranks, reverse=True)


def test_clean_verdict_passes():
    report = build_json_report(clean_verdict())
    assert report["verdict"]["status"] == "passed" and report["verdict"]["exit_code"] == 0
    assert report["findings"] == [] and report["gates"][0]["passed"] is True
