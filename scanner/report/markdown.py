"""Markdown for a PR comment or `$GITHUB_STEP_SUMMARY`.

A reviewer should see in five seconds whether the merge is blocked and why:
a headline with the verdict, a table of gates and of counts, the failing
findings (capped, saying how many more), then errors, waivers (including
expired ones) and notices.

Every piece of text that came from a manifest or a policy is escaped: HTML
is neutralised, Markdown punctuation is backslash-escaped, `|` cannot break
a table, newlines become `<br>` inside cells, and `@` cannot mention people.
GitHub limits a comment to 65,536 characters, so the output is kept under
`max_chars` by showing fewer rows.
"""

from __future__ import annotations

import re

from scanner.findings import Finding, Outcome, Severity, Verdict
from scanner.report._common import (
    SEVERITIES,
    STATUS_HEADLINE,
    expired_waiver_findings,
    gate_state,
    is_failing,
    one_line,
    ordered,
    resource_label,
    safe_http_url,
    state_of,
    where,
    waived_findings,
)

DEFAULT_MAX_ROWS = 50
DEFAULT_MAX_CHARS = 60_000
MESSAGE_LIMIT = 300

_STATUS_ICON = {"passed": "✅", "failed": "❌", "error": "⛔"}
_GATE_ICON = {"passed": "✅", "failed": "❌", "error": "⛔", "skipped": "⏭️"}
_SEVERITY_ICON = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🟧",
    Severity.MEDIUM: "🟨",
    Severity.LOW: "🟦",
    Severity.INFO: "⬜",
}
# GitHub mentions start at a word boundary (`@team`), unlike `user@host` or `image@sha256`.
_MENTION = re.compile(r"(?<![\w.])@(?=[\w-])")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: object) -> str:
    """Text that renders literally in GitHub Markdown, also inside a table cell."""
    value = str(text)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MD_SPECIAL.sub(r"\\\1", value)
    value = _MENTION.sub("@\u200b", value)  # no @mentions from manifest text
    value = re.sub(r"\r\n|\r|\n", "<br>", value)
    return value


def md_cell(text: object, limit: int | None = None) -> str:
    """One table cell: escaped, newlines kept as `<br>`, long text cut."""
    value = str(text)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return md_escape(value.strip()) or " "


def render_markdown(
    verdict: Verdict, *, max_rows: int = DEFAULT_MAX_ROWS, max_chars: int = DEFAULT_MAX_CHARS
) -> str:
    """The Markdown summary, at most `max_rows` rows per table and about `max_chars` long."""
    rows = max(max_rows, 0)
    while True:
        text = _render(verdict, rows)
        if len(text) <= max_chars or rows == 0:
            return text
        rows //= 2


def _render(verdict: Verdict, max_rows: int) -> str:
    out: list[str] = []
    status = verdict.status
    out.append(f"## {_STATUS_ICON[status]} cdgate: {status} ({STATUS_HEADLINE[status]})")
    out.append("")
    facts = [
        f"**Profile** {md_escape(verdict.profile_name)}",
        f"**Environment** {md_escape(verdict.environment or 'all')}",
        f"**Fails on** {verdict.fail_on.value} and above",
        f"**Documents** {verdict.documents}",
    ]
    if verdict.duration_s:
        facts.append(f"**Time** {verdict.duration_s:.2f} s")
    out.append(" · ".join(facts))
    out.append("")

    out += _gates_table(verdict)
    out += _counts_table(verdict)

    errors = ordered(verdict.errors)
    if errors:
        out += _findings_section(
            "Errors: cdgate could not evaluate", errors, max_rows, "error", verdict
        )
    failing = ordered(verdict.failing())
    if failing:
        out += _findings_section("Failing findings", failing, max_rows, "failing finding", verdict)
    elif status == "passed":
        out += ["No finding fails the gate.", ""]

    others = ordered(
        [
            f
            for f in verdict.findings
            if not f.waived and f.outcome is not Outcome.ERROR and not is_failing(f, verdict)
        ]
    )
    if others:
        out.append(f"<details><summary>Warnings: reported, not failing the gate ({len(others)})</summary>")
        out.append("")
        out += _findings_section(None, others, max_rows, "finding", verdict)
        out.append("</details>")
        out.append("")

    out += _waivers_section(verdict, max_rows)
    if verdict.notices:
        out += ["### Notices", ""]
        out += [f"- {md_escape(one_line(n))}" for n in verdict.notices[:max_rows]]
        if len(verdict.notices) > max_rows:
            out.append(f"- …and {len(verdict.notices) - max_rows} more notices")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _gates_table(verdict: Verdict) -> list[str]:
    lines = ["| Gate | Result | Documents | Findings | Failing |", "|---|---|---:|---:|---:|"]
    for g in verdict.gates:
        state = gate_state(g, verdict)
        result = f"{_GATE_ICON[state]} {state}"
        if g.skipped is not None:
            result += f": {md_cell(g.skipped, 120)}"
        failing = sum(1 for f in g.findings if is_failing(f, verdict))
        lines.append(f"| {md_cell(g.name)} | {result} | {g.documents} | {len(g.findings)} | {failing} |")
    return lines + [""]


def _counts_table(verdict: Verdict) -> list[str]:
    active = verdict.counts()
    failing = {s: 0 for s in SEVERITIES}
    waived = {s: 0 for s in SEVERITIES}
    for f in verdict.failing():
        failing[f.severity] += 1
    for f in waived_findings(verdict):
        waived[f.severity] += 1
    lines = ["| Severity | Active | Failing | Waived |", "|---|---:|---:|---:|"]
    for s in SEVERITIES:
        lines.append(f"| {_SEVERITY_ICON[s]} {s.value} | {active[s.value]} | {failing[s]} | {waived[s]} |")
    return lines + [""]


def _findings_section(
    title: str | None, findings: list[Finding], max_rows: int, noun: str, verdict: Verdict
) -> list[str]:
    lines: list[str] = []
    if title:
        lines += [f"### {title} ({len(findings)})", ""]
    lines += ["| Severity | Rule | Resource | Location | Message |", "|---|---|---|---|---|"]
    for f in findings[:max_rows]:
        lines.append(
            f"| {_SEVERITY_ICON[f.severity]} {f.severity.value} | {_rule_cell(f)} "
            f"| {md_cell(resource_label(f), 120)} | {md_cell(where(f), 160)} "
            f"| {md_cell(_message(f, verdict), MESSAGE_LIMIT)} |"
        )
    if len(findings) > max_rows:
        lines += ["", f"…and {len(findings) - max_rows} more {noun}s (see the JSON or SARIF report)."]
    return lines + [""]


def _rule_cell(finding: Finding) -> str:
    rule = md_cell(finding.rule_id)
    url = safe_http_url(finding.help_uri)
    if url:
        rule = f"[{rule}](<{_url_escape(url)}>)"
    if finding.title:
        rule += f" {md_cell(finding.title, 80)}"
    return rule


def _url_escape(url: str) -> str:
    return url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20").replace("|", "%7C")


def _message(finding: Finding, verdict: Verdict) -> str:
    text = finding.message
    if state_of(finding, verdict) == "expired-waiver" and finding.waiver is not None:
        text += f" (waiver by {finding.waiver.owner} expired {finding.waiver.expires})"
    return text


def _waivers_section(verdict: Verdict, max_rows: int) -> list[str]:
    rows = ordered(waived_findings(verdict) + expired_waiver_findings(verdict))
    if not rows:
        return []
    lines = [
        f"### Waivers ({len(rows)})",
        "",
        "| State | Rule | Resource | Owner | Expires | Reason |",
        "|---|---|---|---|---|---|",
    ]
    for f in rows[:max_rows]:
        w = f.waiver
        if w is None:
            continue
        state = "⌛ expired, no longer applies" if w.expired else "applied"
        lines.append(
            f"| {state} | {md_cell(f.rule_id)} | {md_cell(resource_label(f), 120)} "
            f"| {md_cell(w.owner, 80)} | {md_cell(w.expires or 'never')} | {md_cell(w.reason, MESSAGE_LIMIT)} |"
        )
    if len(rows) > max_rows:
        lines += ["", f"…and {len(rows) - max_rows} more waivers."]
    return lines + [""]
