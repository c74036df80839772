"""Markdown summary: headline, tables that hold together, caps, escaping."""

from __future__ import annotations

import re

from report_verdicts import clean_verdict, finding, many_findings, mixed_verdict

from scanner.findings import GateResult, Severity, Verdict
from scanner.report.markdown import md_escape, render_markdown

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def _table_rows(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_headline_says_the_verdict():
    assert render_markdown(mixed_verdict()).splitlines()[0].startswith("## ❌ cdgate: failed")
    assert render_markdown(mixed_verdict(with_error=True)).splitlines()[0].startswith("## ⛔ cdgate: error")
    clean = render_markdown(clean_verdict())
    assert clean.splitlines()[0].startswith("## ✅ cdgate: passed")
    assert "No finding fails the gate." in clean


def test_failing_table_lists_each_failing_finding_with_file_and_line():
    text = render_markdown(mixed_verdict())
    assert "### Failing findings (3)" in text
    rows = _table_rows(text, "| Severity | Rule | Resource | Location | Message |")
    assert len(rows) == 3
    assert "| services/service-b/templates/deployment.yaml:21 |" in rows[0]
    assert "plain/pod.yaml:7" in "".join(rows)
    assert "expired 2020-01-01" in "".join(rows)


def test_hostile_message_cannot_break_the_table_or_inject_html():
    text = render_markdown(mixed_verdict())
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<b>" not in text
    assert "@admins" not in text  # no mention
    header = "| Severity | Rule | Resource | Location | Message |"
    for table_header in (header, "| State | Rule | Resource | Owner | Expires | Reason |"):
        columns = len(_UNESCAPED_PIPE.findall(table_header))
        for row in _table_rows(text, table_header):
            assert len(_UNESCAPED_PIPE.findall(row)) == columns, row
    priv_row = next(r for r in _table_rows(text, header) if "CDG-K8S-001" in r)
    assert "<br>second line" in priv_row and "\\[red\\]" in priv_row


def test_md_escape_neutralises_markdown():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("**x** [l](javascript:alert(1))") == "\\*\\*x\\*\\* \\[l\\]\\(javascript:alert\\(1\\)\\)"
    assert md_escape("line1\nline2") == "line1<br>line2"
    assert md_escape("<img src=x>") == "&lt;img src=x&gt;"
    assert md_escape("ping @org/security") == "ping @\u200borg/security"
    assert md_escape("image@sha256:abc and sre@example.com") == "image@sha256:abc and sre@example.com"


def test_only_http_help_links_become_links():
    evil = finding(help_uri="javascript:alert(1)")
    text = render_markdown(Verdict(gates=[GateResult("manifest", [evil], 1)], fail_on=Severity.HIGH))
    assert "javascript" not in text
    good = render_markdown(mixed_verdict())
    assert "[CDG-K8S-001](<https://cdgate.example/rules/CDG-K8S-001>)" in good


def test_failing_rows_are_capped_and_the_rest_counted():
    findings = many_findings({Severity.CRITICAL: 120})
    verdict = Verdict(gates=[GateResult("manifest", findings, 120)], fail_on=Severity.HIGH)
    text = render_markdown(verdict, max_rows=50)
    rows = _table_rows(text, "| Severity | Rule | Resource | Location | Message |")
    assert len(rows) == 50
    assert "…and 70 more failing findings" in text


def test_output_fits_a_pr_comment():
    findings = many_findings({Severity.CRITICAL: 400, Severity.LOW: 400})
    for f in findings:
        f.message = f.message + " " + "x" * 280
    verdict = Verdict(gates=[GateResult("manifest", findings, 800)], fail_on=Severity.HIGH)
    text = render_markdown(verdict, max_rows=200, max_chars=20_000)
    assert len(text) <= 20_000
    assert "more failing findings" in text


def test_waivers_and_notices_are_listed():
    text = render_markdown(mixed_verdict())
    rows = _table_rows(text, "| State | Rule | Resource | Owner | Expires | Reason |")
    assert len(rows) == 2
    assert any("expired" in r and "net\\-team" not in r and "net-team" in r for r in rows)
    assert any("applied" in r and "2099-01-31" in r and "\\|" in r for r in rows)
    assert "### Notices" in text and "expires in 5 days" in text
