"""SARIF: schema-valid, within GitHub code scanning's rules, stable fingerprints, truncation."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json

import jsonschema
import pytest
from report_verdicts import (
    HOSTILE_MESSAGE,
    SARIF_SCHEMA_PATH,
    error_finding,
    finding,
    many_findings,
    mixed_verdict,
)

from scanner import __version__
from scanner.findings import GateResult, Severity, Verdict
from scanner.report.sarif import (
    FINGERPRINT_KEY,
    TRUNCATION_PROPERTY,
    SarifLimits,
    artifact_uri,
    build_sarif,
    render_sarif,
)


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def _verdict(*findings, fail_on=Severity.HIGH, **kwargs) -> Verdict:
    return Verdict(gates=[GateResult("manifest", list(findings), documents=3)], fail_on=fail_on, **kwargs)


def _results_by_rule(log: dict) -> dict[str, dict]:
    return {r["ruleId"]: r for r in log["runs"][0]["results"]}


def test_mixed_verdict_is_valid_sarif_2_1_0(sarif_validator):
    log = build_sarif(mixed_verdict(with_error=True))
    errors = sorted(sarif_validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert log["version"] == "2.1.0"


def test_schema_rejects_a_broken_log(sarif_validator):
    """The validity check above can fail: a result without a message is rejected."""
    log = build_sarif(mixed_verdict())
    del log["runs"][0]["results"][0]["message"]
    assert list(sarif_validator.iter_errors(log))


def test_one_run_for_cdgate_with_automation_id_and_driver():
    log = build_sarif(mixed_verdict())
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "cdgate"
    assert driver["version"] == __version__
    assert "informationUri" not in driver  # cdgate has no public home page to point at yet
    assert run["automationDetails"]["id"] == "cdgate/default/prod/"
    assert build_sarif(mixed_verdict(), category="merge gate")["runs"][0]["automationDetails"]["id"] == (
        "cdgate/merge-gate/prod/"
    )


def test_every_result_points_at_the_offending_line_repo_relative():
    verdict = mixed_verdict()
    log = build_sarif(verdict)
    results = log["runs"][0]["results"]
    assert len(results) == len(verdict.findings)
    lines = {(f.rule_id, f.location.path): f.location.start_line for f in verdict.findings}
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not uri.startswith(("/", "./")) and "\\" not in uri and "://" not in uri
        expected = lines[(result["ruleId"], uri)]
        assert physical["region"]["startLine"] == (expected or 1)
        assert physical["region"]["startLine"] >= 1
    privileged = _results_by_rule(log)["CDG-K8S-001"]
    assert privileged["locations"][0]["physicalLocation"]["region"]["startLine"] == 21


def test_result_without_line_points_at_line_one_and_says_so():
    log = build_sarif(mixed_verdict())
    quota = _results_by_rule(log)["CDG-K8S-005"]
    assert quota["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert quota["properties"]["cdgate/lineUnknown"] is True


@pytest.mark.parametrize(
    ("path", "uri", "relative"),
    [
        ("./services/a/values.yaml", "services/a/values.yaml", True),
        ("back\\slash.yaml", "back%5Cslash.yaml", True),  # a POSIX file name, not two folders
        ("services//a/./x.yaml", "services/a/x.yaml", True),
        ("charts/my chart/values.yaml", "charts/my%20chart/values.yaml", True),
        ("/abs/repo/x.yaml", "file:///abs/repo/x.yaml", False),
    ],
)
def test_artifact_uris_are_repo_relative_and_encoded(path, uri, relative):
    assert artifact_uri(path) == (uri, relative)


def test_logical_locations_name_the_resource_and_field():
    log = build_sarif(mixed_verdict())
    logical = _results_by_rule(log)["CDG-K8S-002"]["locations"][0]["logicalLocations"]
    assert {"name": "debug", "fullyQualifiedName": "Pod/default/debug", "kind": "resource"} in logical
    assert any(l["kind"] == "property" and l["name"] == "spec.hostNetwork" for l in logical)


def test_rules_carry_help_severity_and_tags_github_needs():
    log = build_sarif(mixed_verdict())
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    by_id = {r["id"]: r for r in rules}
    priv = by_id["CDG-K8S-001"]
    assert priv["shortDescription"]["text"] == "Privileged container"
    assert "Set securityContext.privileged to false." in priv["help"]["markdown"]
    assert "Set securityContext.privileged to false." in priv["help"]["text"]
    assert priv["helpUri"] == "https://cdgate.example/rules/CDG-K8S-001"
    assert priv["properties"]["security-severity"] == "9.5"
    assert "security" in priv["properties"]["tags"] and "cis:5.2.1" in priv["properties"]["tags"]
    assert priv["defaultConfiguration"]["level"] == "error"
    assert by_id["CDG-K8S-010"]["properties"]["security-severity"] == "5.5"
    assert "security-severity" not in by_id["CDG-K8S-030"]["properties"]  # info has none
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_rule_tags_are_capped_at_githubs_limit():
    many_tags = tuple(f"tag-{i}" for i in range(40))
    log = build_sarif(_verdict(finding(tags=many_tags)))
    tags = log["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"]
    assert len(tags) == 20 and tags[0] == "security"


def test_levels_follow_the_gate_decision():
    verdict = mixed_verdict()
    results = _results_by_rule(build_sarif(verdict))
    assert results["CDG-K8S-001"]["level"] == "error"  # critical, fails
    assert results["CDG-K8S-004"]["level"] == "error"  # expired waiver: fails again
    assert results["CDG-K8S-010"]["level"] == "warning"  # medium, under fail_on high
    assert results["CDG-K8S-020"]["level"] == "note"  # low warning
    # With fail_on critical a high finding no longer fails, so it is not an error.
    relaxed = _results_by_rule(build_sarif(mixed_verdict(fail_on=Severity.CRITICAL)))
    assert relaxed["CDG-K8S-002"]["level"] == "warning"


def test_fingerprints_come_from_identity_not_lines():
    here = finding(line=21)
    moved = dataclasses.replace(here, location=dataclasses.replace(here.location, start_line=140, end_line=140))
    renamed = dataclasses.replace(here, location=dataclasses.replace(here.location, name="api-v2"))

    def fp(f):
        result = build_sarif(_verdict(f))["runs"][0]["results"][0]
        assert "primaryLocationLineHash" not in result["partialFingerprints"]
        return result["partialFingerprints"][FINGERPRINT_KEY]

    assert fp(here) == fp(moved) == here.fingerprint
    assert fp(renamed) != fp(here)


def test_waived_findings_are_suppressed_with_reason_owner_and_expiry():
    results = _results_by_rule(build_sarif(mixed_verdict()))
    suppression = results["CDG-K8S-003"]["suppressions"][0]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert suppression["justification"] == "debug pod needs host PID | <b>temporarily</b>"
    assert suppression["properties"]["owner"] == "platform-team"
    assert suppression["properties"]["expires"] == "2099-01-31"
    expired = results["CDG-K8S-004"]
    assert "suppressions" not in expired
    assert expired["properties"]["cdgate/expiredWaiver"]["expires"] == "2020-01-01"
    assert expired["properties"]["state"] == "expired-waiver"


def test_errors_are_notifications_and_results_and_mark_the_run_unsuccessful():
    log = build_sarif(mixed_verdict(with_error=True))
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["exitCode"] == 2
    errors = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["message"]["text"] == error_finding().message
    assert errors[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert _results_by_rule(log)["CDG-INPUT-001"]["level"] == "error"
    assert log["runs"][0]["properties"]["cdgate/verdict"] == "error"


def test_clean_run_is_successful_with_no_results():
    log = build_sarif(Verdict(gates=[GateResult("manifest", [], documents=4)], fail_on=Severity.HIGH))
    run = log["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["exitCode"] == 0
    assert TRUNCATION_PROPERTY not in run["properties"]


def test_hostile_message_survives_exactly_and_the_log_stays_json():
    text = render_sarif(mixed_verdict())
    log = json.loads(text)
    assert _results_by_rule(log)["CDG-K8S-001"]["message"]["text"] == HOSTILE_MESSAGE


def test_notices_become_warnings():
    log = build_sarif(mixed_verdict())
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any(n["level"] == "warning" and "expires in 5 days" in n["message"]["text"] for n in notes)


def test_more_than_25000_results_drop_lowest_severity_first_and_say_so():
    findings = many_findings({Severity.CRITICAL: 30, Severity.MEDIUM: 24_960, Severity.LOW: 20, Severity.INFO: 100})
    verdict = _verdict(*findings)
    log = json.loads(render_sarif(verdict))
    run = log["runs"][0]
    results = run["results"]
    assert len(results) == 25_000
    severities = [r["properties"]["severity"] for r in results]
    assert severities.count("critical") == 30
    assert severities.count("medium") == 24_960
    assert severities.count("low") == 10 and severities.count("info") == 0
    truncated = run["properties"][TRUNCATION_PROPERTY]
    assert truncated["total"] == 25_110 and truncated["kept"] == 25_000
    assert truncated["droppedBySeverity"] == {"critical": 0, "high": 0, "medium": 0, "low": 10, "info": 100}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("truncated" in n["message"]["text"] and "110 info" not in n["message"]["text"] for n in notes)
    assert any("100 info" in n["message"]["text"] for n in notes)


def test_gzip_size_limit_truncates_lowest_severity_first():
    findings = many_findings({Severity.HIGH: 40, Severity.LOW: 400})
    for f in findings:  # hard-to-compress messages, so size depends on the result count
        f.message += " " + hashlib.sha256(f.message.encode()).hexdigest()
    verdict = _verdict(*findings)
    full_size = len(gzip.compress(render_sarif(verdict).encode("utf-8"), compresslevel=6))
    limits = SarifLimits(max_gzip_bytes=full_size // 2)

    text = render_sarif(verdict, limits=limits)

    assert len(gzip.compress(text.encode("utf-8"), compresslevel=6)) <= limits.max_gzip_bytes
    run = json.loads(text)["runs"][0]
    severities = [r["properties"]["severity"] for r in run["results"]]
    assert severities.count("high") == 40, "the most severe findings are kept"
    assert 0 < severities.count("low") < 400
    truncated = run["properties"][TRUNCATION_PROPERTY]
    assert f"{limits.max_gzip_bytes} bytes gzipped" in truncated["reason"]
    assert truncated["droppedBySeverity"]["low"] == 400 - severities.count("low")


def test_errors_survive_truncation():
    findings = many_findings({Severity.CRITICAL: 10})
    broken = dataclasses.replace(error_finding(), severity=Severity.INFO)
    log = build_sarif(_verdict(*findings, broken), limits=SarifLimits(max_results=5))
    rules = [r["ruleId"] for r in log["runs"][0]["results"]]
    assert len(rules) == 5 and "CDG-INPUT-001" in rules


def test_output_is_deterministic():
    assert render_sarif(mixed_verdict()) == render_sarif(mixed_verdict())


def test_truncated_log_is_still_valid_sarif(sarif_validator):
    findings = many_findings({Severity.HIGH: 5, Severity.LOW: 50})
    log = build_sarif(_verdict(*findings), limits=SarifLimits(max_results=20))
    assert not list(sarif_validator.iter_errors(log))
    run = log["runs"][0]
    assert len(run["results"]) == 20
    assert run["properties"][TRUNCATION_PROPERTY]["droppedBySeverity"]["low"] == 35
