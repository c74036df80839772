"""JUnit XML: well-formed, one suite per gate, failures, skips and errors where CI expects them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from report_verdicts import HOSTILE_MESSAGE, clean_verdict, finding, mixed_verdict

from scanner.findings import GateResult, Severity, Verdict
from scanner.report.junit import render_junit


def _parse(verdict: Verdict) -> ET.Element:
    return ET.fromstring(render_junit(verdict).encode("utf-8"))


def _cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in suite.findall("testcase")}


def test_one_suite_per_gate_with_consistent_counts():
    root = _parse(mixed_verdict(with_error=True))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["manifest", "signature", "inputs"]
    for suite in suites.values():
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
        assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None)
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites.values())


def test_failing_findings_are_failures_waived_are_skipped_errors_are_errors():
    root = _parse(mixed_verdict(with_error=True))
    manifest = _cases(root.find("testsuite[@name='manifest']"))
    priv = manifest["CDG-K8S-001 Deployment/shop/api"]
    failure = priv.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert priv.get("file") == "services/service-b/templates/deployment.yaml" and priv.get("line") == "21"
    assert "Set securityContext.privileged to false." in failure.text
    assert manifest["CDG-K8S-002 Pod/default/debug"].find("failure") is not None
    waived = manifest["CDG-K8S-003 Pod/default/debug"]
    assert waived.find("failure") is None
    assert "platform-team" in waived.find("skipped").get("message")
    expired = manifest["CDG-K8S-004 Pod/default/debug"].find("failure")
    assert expired is not None and "expired 2020-01-01" in expired.text
    below = manifest["CDG-K8S-010 Deployment/shop/api"]
    assert below.find("failure") is None and "no memory limit" in below.find("system-out").text
    assert manifest["CDG-K8S-020 Deployment/shop/api"].find("failure") is None

    inputs = _cases(root.find("testsuite[@name='inputs']"))
    (case,) = inputs.values()
    assert case.find("error") is not None and "could not be parsed" in case.find("error").get("message")
    skipped_gate = root.find("testsuite[@name='signature']")
    assert skipped_gate.get("skipped") == "1"


def test_one_testcase_per_rule_and_resource():
    f1 = finding(message="container a is privileged", json_path="spec.containers[0].securityContext")
    f2 = finding(message="container b is privileged", json_path="spec.containers[1].securityContext", line=40)
    verdict = Verdict(gates=[GateResult("manifest", [f1, f2], 1)], fail_on=Severity.HIGH)
    suite = _parse(verdict).find("testsuite")
    assert suite.get("tests") == "1" and suite.get("failures") == "1"
    text = suite.find("testcase/failure").text
    assert "container a is privileged" in text and "container b is privileged" in text


def test_hostile_and_control_characters_stay_well_formed():
    nasty = HOSTILE_MESSAGE + " \x00\x1b[31m\x07 ]]> &amp;"
    verdict = Verdict(gates=[GateResult("manifest", [finding(message=nasty)], 1)], fail_on=Severity.HIGH)
    failure = _parse(verdict).find("testsuite/testcase/failure")
    assert "<script>alert(1)</script>" in failure.text  # kept as text, not markup
    assert "]]> &amp;" in failure.text
    assert "\x00" not in failure.text and "\x1b" not in failure.text


def test_clean_gate_has_one_passing_case():
    suite = _parse(clean_verdict()).find("testsuite")
    assert suite.get("tests") == "1" and suite.get("failures") == "0"
    assert "9 document(s) checked" in suite.find("testcase").get("name")
