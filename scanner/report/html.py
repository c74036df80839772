"""A single self-contained HTML page for the security team.

One file that can be attached to a ticket or archived as a CI artefact and
opened offline: inline CSS, no scripts, no external fonts or images. Every
string from the verdict is HTML-escaped, and only http(s) help links become
links, so a hostile manifest cannot inject markup or `javascript:` URLs.
"""

from __future__ import annotations

from html import escape

from scanner import __version__
from scanner.findings import Finding, Verdict
from scanner.report._common import (
    SEVERITIES,
    STATUS_HEADLINE,
    expired_waiver_findings,
    gate_state,
    is_failing,
    ordered,
    resource_label,
    safe_http_url,
    state_of,
    waived_findings,
    where,
)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
.status{display:inline-block;padding:.2rem .7rem;border-radius:1rem;color:#fff;font-weight:600}
.status.passed{background:#1a7f37}.status.failed{background:#cf222e}.status.error{background:#6e7781}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right}
.sev{font-weight:600;text-transform:uppercase;font-size:.75rem;padding:.1rem .4rem;border-radius:.3rem;color:#fff}
.sev.critical{background:#8b0000}.sev.high{background:#cf222e}.sev.medium{background:#bf8700}
.sev.low{background:#0969da}.sev.info{background:#6e7781}
.state{font-size:.8rem;color:#57606a}.msg{white-space:pre-wrap;word-break:break-word}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;overflow-wrap:anywhere}
.meta{color:#57606a}footer{margin-top:2rem;color:#57606a;font-size:.8rem}
"""


def render_html(verdict: Verdict) -> str:
    """The whole page as text."""
    status = verdict.status
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cdgate report: {escape(status)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<h1>cdgate report</h1>",
        f'<p><span class="status {escape(status)}">{escape(status)}</span> '
        f"{escape(STATUS_HEADLINE[status])} (exit code {verdict.exit_code})</p>",
        _summary(verdict),
        _gates(verdict),
        _counts(verdict),
    ]
    parts += _by_severity(verdict)
    parts.append(_waivers(verdict))
    if verdict.notices:
        parts.append("<h2>Notices</h2><ul>")
        parts += [f"<li>{escape(n)}</li>" for n in verdict.notices]
        parts.append("</ul>")
    parts += [f"<footer>cdgate {escape(__version__)}</footer>", "</body>", "</html>"]
    return "\n".join(p for p in parts if p) + "\n"


def _summary(verdict: Verdict) -> str:
    items = [
        ("Profile", verdict.profile_name),
        ("Environment", verdict.environment or "all"),
        ("Fails on", f"{verdict.fail_on.value} and above"),
        ("Targets", ", ".join(verdict.targets) or "-"),
        ("Documents", str(verdict.documents)),
        ("Findings", str(len(verdict.findings))),
        ("Duration", f"{verdict.duration_s:.2f} s"),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in items)
    return f'<table class="meta">{cells}</table>'


def _gates(verdict: Verdict) -> str:
    rows = []
    for g in verdict.gates:
        result = gate_state(g, verdict)
        if g.skipped is not None:
            result += f": {g.skipped}"
        failing = sum(1 for f in g.findings if is_failing(f, verdict))
        rows.append(
            f"<tr><td>{escape(g.name)}</td><td>{escape(result)}</td>"
            f'<td class="num">{g.documents}</td><td class="num">{len(g.findings)}</td>'
            f'<td class="num">{failing}</td></tr>'
        )
    return (
        "<h2>Gates</h2><table><tr><th>Gate</th><th>Result</th><th>Documents</th>"
        "<th>Findings</th><th>Failing</th></tr>" + "".join(rows) + "</table>"
    )


def _counts(verdict: Verdict) -> str:
    active = verdict.counts()
    failing = {s: 0 for s in SEVERITIES}
    for f in verdict.failing():
        failing[f.severity] += 1
    rows = "".join(
        f'<tr><td><span class="sev {s.value}">{s.value}</span></td>'
        f'<td class="num">{active[s.value]}</td><td class="num">{failing[s]}</td></tr>'
        for s in SEVERITIES
    )
    return (
        "<h2>Counts</h2><table><tr><th>Severity</th><th>Active</th><th>Failing</th></tr>"
        + rows
        + "</table>"
    )


def _by_severity(verdict: Verdict) -> list[str]:
    findings = ordered([f for f in verdict.findings if not f.waived])
    if not findings:
        return ["<h2>Findings</h2><p>No active findings.</p>"]
    parts: list[str] = []
    for severity in SEVERITIES:
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        parts.append(f'<h2 id="severity-{severity.value}">{severity.value.capitalize()} ({len(group)})</h2>')
        parts.append(
            "<table><tr><th>Rule</th><th>State</th><th>Resource</th><th>Location</th>"
            "<th>Message</th><th>Remediation</th></tr>"
        )
        parts += [_finding_row(f, verdict) for f in group]
        parts.append("</table>")
    return parts


def _finding_row(finding: Finding, verdict: Verdict) -> str:
    url = safe_http_url(finding.help_uri)
    rule = escape(finding.rule_id)
    if url:
        rule = f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer">{rule}</a>'
    if finding.title:
        rule += f"<br>{escape(finding.title)}"
    location = escape(where(finding))
    if finding.location.json_path:
        location += f"<br><code>{escape(finding.location.json_path)}</code>"
    state = state_of(finding, verdict)
    if state == "expired-waiver" and finding.waiver is not None:
        state += f" ({finding.waiver.owner}, {finding.waiver.expires})"
    tags = f'<br><span class="state">{escape(", ".join(finding.tags))}</span>' if finding.tags else ""
    return (
        f"<tr><td>{rule}{tags}</td><td class=\"state\">{escape(state)}</td>"
        f"<td>{escape(resource_label(finding))}</td><td>{location}</td>"
        f'<td class="msg">{escape(finding.message)}</td>'
        f'<td class="msg">{escape(finding.remediation or "")}</td></tr>'
    )


def _waivers(verdict: Verdict) -> str:
    rows = ordered(waived_findings(verdict) + expired_waiver_findings(verdict))
    if not rows:
        return ""
    body = []
    for f in rows:
        w = f.waiver
        if w is None:
            continue
        body.append(
            f"<tr><td>{'expired' if w.expired else 'applied'}</td><td>{escape(f.rule_id)}</td>"
            f'<td><span class="sev {f.severity.value}">{f.severity.value}</span></td>'
            f"<td>{escape(resource_label(f))}</td><td>{escape(w.owner)}</td>"
            f"<td>{escape(w.expires or 'never')}</td><td class=\"msg\">{escape(w.reason)}</td></tr>"
        )
    return (
        f"<h2>Waivers ({len(rows)})</h2><table><tr><th>State</th><th>Rule</th><th>Severity</th>"
        "<th>Resource</th><th>Owner</th><th>Expires</th><th>Reason</th></tr>"
        + "".join(body)
        + "</table>"
    )

