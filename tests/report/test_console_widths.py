"""The terminal view at 60, 80, 120 and 200 columns: what a person sees of every finding."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from report_verdicts import finding, many_findings, mixed_verdict
from rich.console import Console

from scanner.findings import GateResult, Severity, Verdict
from scanner.report._common import where
from scanner.report.console import print_verdict, render_table

KYVERNO_RULE = "kyverno:require-owner-label/deployment-has-owner"
WIDTHS = (60, 80, 120, 200)


def wide_verdict() -> Verdict:
    """mixed_verdict plus a long Kyverno rule id, the one that used to push every other column out."""
    verdict = mixed_verdict()
    long_rule = finding(
        KYVERNO_RULE,
        Severity.MEDIUM,
        "validation error: every Deployment needs an owner label naming the team that runs it",
        path="services/service-c/base/deployment.yaml",
        line=4,
        name="service-c",
        json_path="metadata.labels",
        title=None,
    )
    manifest = verdict.gates[0]
    gates = [dataclasses.replace(manifest, findings=[*manifest.findings, long_rule]), *verdict.gates[1:]]
    return dataclasses.replace(verdict, gates=gates, fail_on=Severity.MEDIUM)


def rendered(verdict: Verdict, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, force_terminal=False, color_system=None)
    print_verdict(verdict, console=console)
    return console.export_text()


def words(text: str) -> set[str]:
    return set(re.split(r"[\s│╭╮╰╯─]+", text))


@pytest.mark.parametrize("width", WIDTHS)
def test_every_finding_shows_severity_rule_resource_location_and_message(width):
    verdict = wide_verdict()
    text = rendered(verdict, width)
    shown = [f for f in verdict.findings if not f.waived]
    assert len(shown) == 8
    seen = words(text)
    squashed = "".join(text.split())
    for f in shown:
        heading = next(line for line in text.splitlines() if line.startswith(f.severity.value.upper() + " "))
        assert f.rule_id in words(text), heading
        assert f.location.resource() or "-" in seen
        assert where(f) in seen, (width, where(f))
        for word in f.message.split():
            assert word in seen, (width, word)
        if f.location.json_path:
            assert f.location.json_path in squashed


@pytest.mark.parametrize("width", WIDTHS)
def test_no_line_is_wider_than_the_terminal_and_no_word_is_cut(width):
    text = rendered(wide_verdict(), width)
    lines = text.splitlines()
    assert lines and all(len(line) <= width for line in lines)
    assert KYVERNO_RULE in words(text)
    # A word cut at the edge would leave a fragment: every token is a whole word of the input.
    for fragment in ("Resour", "Locati", "Messag", "privil"):
        assert fragment not in words(text)


@pytest.mark.slow
def test_four_thousand_findings_stay_readable_grouped_by_rule():
    findings = many_findings({Severity.HIGH: 2500, Severity.MEDIUM: 1500})
    verdict = Verdict(gates=[GateResult("manifest", findings, 4000)], fail_on=Severity.HIGH)
    text = render_table(verdict, width=80)
    assert len(text.splitlines()) < 100
    assert "CDG-K8S-003 (2500 findings)" in text and "CDG-K8S-002 (1500 findings)" in text
    assert "…and 2495 more CDG-K8S-003 finding(s)" in text
    summary = text.split("Findings by rule")[1]
    assert re.search(r"2500 high fail CDG-K8S-003", summary)
    assert re.search(r"1500 medium warn CDG-K8S-002", summary)

    everything = render_table(verdict, width=80, per_rule=None)
    assert everything.count("• Deployment/") == 4000


def test_summary_groups_findings_by_rule_with_counts():
    verdict = Verdict(gates=[GateResult("m", many_findings({Severity.CRITICAL: 3, Severity.LOW: 2}), 5)],
                      fail_on=Severity.HIGH)
    summary = render_table(verdict, width=80).split("Findings by rule")[1].split("cdgate verdict")[0]
    assert re.search(r"\b3 critical fail CDG-K8S-004\b", summary)
    assert re.search(r"\b2 low warn CDG-K8S-001\b", summary)
    assert "3 fail · 0 expired-waiver · 0 waived · 2 warn" in render_table(verdict, width=120)
