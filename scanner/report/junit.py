"""JUnit XML so any CI (Jenkins, GitLab, Azure, Buildkite) shows the gate as tests.

Layout: `<testsuites>` with one `<testsuite>` per gate and one `<testcase>`
per (rule, resource). A test case is

- an `<error>` when cdgate could not evaluate it (fails closed),
- a `<failure>` when one of its findings fails the gate (including findings
  whose waiver has expired),
- `<skipped>` when all its blocking findings are waived,
- passing otherwise (warnings and findings under `fail_on` go to
  `<system-out>` so they stay visible).

A gate without findings gets one passing test case, a gate that did not run
one skipped test case, so no suite is ever empty.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from scanner.findings import Finding, GateResult, Outcome, Verdict
from scanner.report._common import is_failing, one_line, ordered, resource_label, state_of, where

# Characters XML 1.0 cannot carry at all, even escaped.
_XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: object) -> str:
    """Text safe for an XML 1.0 document (ElementTree escapes `<`, `&`, quotes)."""
    return _XML_INVALID.sub("\ufffd", str(text))


@dataclass
class _Case:
    rule_id: str
    subject: str
    findings: list[Finding] = field(default_factory=list)


def render_junit(verdict: Verdict) -> str:
    """The JUnit XML document as text."""
    root = ET.Element("testsuites", name="cdgate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for gate in verdict.gates:
        suite = _suite(gate, verdict)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{max(verdict.duration_s, 0.0):.3f}")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _suite(gate: GateResult, verdict: Verdict) -> ET.Element:
    suite = ET.Element("testsuite", name=xml_text(gate.name))
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("profile", verdict.profile_name),
        ("environment", verdict.environment or ""),
        ("fail_on", verdict.fail_on.value),
        ("documents", gate.documents),
        ("verdict", verdict.status),
    ):
        ET.SubElement(props, "property", name=name, value=xml_text(value))

    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if gate.skipped is not None:
        case = ET.SubElement(suite, "testcase", classname=_classname(gate.name, "gate"), name=f"{gate.name} gate")
        ET.SubElement(case, "skipped", message=xml_text(one_line(f"gate did not run: {gate.skipped}")))
        counts["tests"], counts["skipped"] = 1, 1
    elif not gate.findings:
        ET.SubElement(
            suite,
            "testcase",
            classname=_classname(gate.name, "gate"),
            name=xml_text(f"{gate.name}: {gate.documents} document(s) checked, no findings"),
        )
        counts["tests"] = 1
    for test_case in _cases(gate.findings):
        outcome = _testcase(suite, gate.name, test_case, verdict)
        counts["tests"] += 1
        if outcome:
            counts[outcome] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", "0")
    return suite


def _cases(findings: list[Finding]) -> list[_Case]:
    cases: dict[tuple[str, str], _Case] = {}
    for f in ordered(findings):
        subject = f.location.resource() or f.location.path or "-"
        cases.setdefault((f.rule_id, subject), _Case(f.rule_id, subject)).findings.append(f)
    return list(cases.values())


def _testcase(suite: ET.Element, gate: str, case: _Case, verdict: Verdict) -> str | None:
    """Append one test case; return which counter it adds to (or None for a pass)."""
    first = case.findings[0]
    attrs = {
        "classname": _classname(gate, case.rule_id),
        "name": xml_text(f"{case.rule_id} {case.subject}"),
    }
    if first.location.path:
        attrs["file"] = xml_text(first.location.path)
    if first.location.start_line:
        attrs["line"] = str(first.location.start_line)
    element = ET.SubElement(suite, "testcase", attrs)

    errors = [f for f in case.findings if f.outcome is Outcome.ERROR]
    failing = [f for f in case.findings if is_failing(f, verdict)]
    waived = [f for f in case.findings if f.waived]
    if errors:
        _detail(element, "error", errors, case.findings, verdict)
        return "errors"
    if failing:
        _detail(element, "failure", failing, case.findings, verdict)
        return "failures"
    if waived and all(f.waived or not f.blocking for f in case.findings):
        message = _waiver_text(waived[0])
        ET.SubElement(element, "skipped", message=xml_text(one_line(message, 500)))
        return "skipped"
    out = ET.SubElement(element, "system-out")
    out.text = xml_text("\n".join(_line(f, verdict) for f in case.findings))
    return None


def _detail(
    element: ET.Element, tag: str, main: list[Finding], everything: list[Finding], verdict: Verdict
) -> None:
    head = main[0]
    node = ET.SubElement(
        element,
        tag,
        message=xml_text(one_line(head.message, 500)),
        type=xml_text(head.severity.value if tag == "failure" else head.rule_id),
    )
    lines = [_line(f, verdict) for f in everything]
    if head.remediation:
        lines.append(f"Remediation: {head.remediation}")
    if head.help_uri:
        lines.append(f"Help: {head.help_uri}")
    node.text = xml_text("\n".join(lines))


def _line(finding: Finding, verdict: Verdict) -> str:
    text = (
        f"[{finding.severity.value}] [{state_of(finding, verdict)}] {where(finding)} "
        f"{resource_label(finding)}: {finding.message}"
    )
    if finding.location.json_path:
        text += f" (field {finding.location.json_path})"
    waiver = finding.waiver
    if waiver is not None and waiver.expired:
        text += f" (waiver by {waiver.owner} expired {waiver.expires})"
    return text


def _waiver_text(finding: Finding) -> str:
    w = finding.waiver
    if w is None:
        return "waived"
    return f"waived by {w.owner}" + (f" until {w.expires}" if w.expires else "") + f": {w.reason}"


def _classname(gate: str, rule_id: str) -> str:
    return xml_text(f"cdgate.{gate}.{rule_id}")
