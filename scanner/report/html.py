"""A single self-contained HTML page for the security team.

One file that can be attached to a ticket or archived as a CI artefact and
opened offline: inline CSS and one inline script, no external fonts, images or
requests (a Content-Security-Policy forbids them). The page puts blocking
findings first, set apart; then every finding grouped by service and
environment, filterable by severity, gate, rule, service, environment and
baseline state (new or unchanged, from the merge gate) and searchable by text;
then waivers with the days they have left, expired ones highlighted. Cards
reflow from a phone-width column (400 px) to a wide grid (1,400 px).

Every string from the verdict is HTML-escaped (attributes too), only http(s)
help links become links, and the script reads `data-` attributes only, so a
hostile manifest cannot inject markup, script or `javascript:` URLs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from scanner import __version__
from scanner.findings import Finding, Outcome, Verdict
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

#: Waivers that expire within this many days are flagged.
EXPIRING_DAYS = 14
BASELINE_PROPERTY = "cdgate/baselineState"

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa;line-height:1.4}
main{max-width:1400px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0 .5rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
h3{font-size:1rem;margin:0;padding:.5rem .75rem;background:#eaeef2;border-radius:.4rem .4rem 0 0}
.status{display:inline-block;padding:.2rem .7rem;border-radius:1rem;color:#fff;font-weight:600}
.status.passed{background:#1a7f37}.status.failed{background:#cf222e}.status.error{background:#6e7781}
.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.5rem;margin:.75rem 0}
.meta div{background:#fff;border:1px solid #d0d7de;border-radius:.4rem;padding:.4rem .6rem}
.meta b{display:block;font-size:.75rem;color:#57606a;font-weight:600}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem;background:#fff}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right}
.sev{font-weight:600;text-transform:uppercase;font-size:.7rem;padding:.1rem .4rem;border-radius:.3rem;color:#fff;white-space:nowrap}
.sev.critical{background:#8b0000}.sev.high{background:#cf222e}.sev.medium{background:#9a6700}
.sev.low{background:#0969da}.sev.info{background:#6e7781}
.tag{font-size:.7rem;padding:.1rem .4rem;border-radius:.3rem;border:1px solid #d0d7de;background:#fff;white-space:nowrap}
.tag.new{border-color:#cf222e;color:#cf222e;font-weight:600}.tag.unchanged{color:#57606a}
.tag.blocking{background:#cf222e;color:#fff;border-color:#cf222e;font-weight:600}
.blocking-zone{border:2px solid #cf222e;border-radius:.5rem;background:#fff5f5;padding:.5rem .75rem}
.blocking-zone h2{margin-top:.25rem;color:#a40e26}
.filters{position:sticky;top:0;z-index:1;background:#f6f8fa;padding:.5rem 0;display:grid;
 grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.4rem;border-bottom:1px solid #d0d7de}
.filters label{font-size:.75rem;color:#57606a;display:flex;flex-direction:column;gap:.15rem}
.filters input,.filters select{font:inherit;font-size:.9rem;padding:.3rem;border:1px solid #8c959f;border-radius:.3rem;background:#fff;width:100%}
.filters .check{flex-direction:row;align-items:center;gap:.4rem;font-size:.9rem;color:#1f2328}
.filters .check input{width:auto}
#shown{font-size:.85rem;color:#57606a;align-self:end}
.group{margin:.75rem 0;border:1px solid #d0d7de;border-radius:.4rem;background:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,30rem),1fr));gap:.5rem;padding:.5rem}
.finding{border:1px solid #d0d7de;border-left:.35rem solid #8c959f;border-radius:.35rem;padding:.5rem .6rem;background:#fff;min-width:0}
.finding.critical{border-left-color:#8b0000}.finding.high{border-left-color:#cf222e}.finding.medium{border-left-color:#bf8700}
.finding.low{border-left-color:#0969da}.finding.is-blocking{background:#fff8f8}
.finding header{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center;margin-bottom:.3rem}
.finding .rule{font-weight:600}.finding .title{color:#57606a}
.finding dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .6rem;margin:.3rem 0 0;font-size:.85rem}
.finding dt{color:#57606a}.finding dd{margin:0;min-width:0}
.msg{white-space:pre-wrap;word-break:break-word;margin:.2rem 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;overflow-wrap:anywhere}
tr.expired td{background:#ffebe9}tr.expiring td{background:#fff8c5}
.days{font-weight:600}
.muted{color:#57606a}footer{margin:2rem 0 1rem;color:#57606a;font-size:.8rem}
[hidden]{display:none!important}
@media (max-width:600px){main{padding:.5rem}h1{font-size:1.25rem}.finding dl{grid-template-columns:1fr}.finding dt{margin-top:.2rem}}
"""

# Reads data- attributes, form values and the address's #fragment only; writes the hidden flag and one counter.
_SCRIPT = r"""
(function(){
  var form=document.getElementById('filters');
  if(!form){return;}
  var cards=Array.prototype.slice.call(document.querySelectorAll('.finding'));
  var groups=Array.prototype.slice.call(document.querySelectorAll('[data-group]'));
  var keys=['severity','gate','rule','service','environment','baseline'];
  function apply(){
    var query=form.elements.q.value.trim().toLowerCase();
    var blockingOnly=form.elements.blocking.checked;
    var shown=0;
    cards.forEach(function(card){
      var ok=keys.every(function(k){var v=form.elements[k].value;return !v||card.dataset[k]===v;});
      if(ok&&blockingOnly){ok=card.dataset.blocking==='true';}
      if(ok&&query){ok=card.dataset.text.indexOf(query)!==-1;}
      card.hidden=!ok;
      if(ok&&!card.closest('.blocking-zone')){shown++;}
    });
    groups.forEach(function(group){group.hidden=!group.querySelector('.finding:not([hidden])');});
    document.getElementById('shown').textContent=shown+' of '+form.dataset.total+' findings shown';
  }
  // #severity=high&q=privileged in the address opens the page filtered (links in tickets).
  location.hash.replace(/^#/,'').split('&').forEach(function(pair){
    var kv=pair.split('=');var field=form.elements[decodeURIComponent(kv[0]||'')];
    if(!field||kv.length<2){return;}
    var value=decodeURIComponent(kv[1].replace(/\+/g,' '));
    if(field.type==='checkbox'){field.checked=value==='1'||value==='true';}else{field.value=value;}
  });
  form.addEventListener('input',apply);
  form.addEventListener('change',apply);
  form.addEventListener('submit',function(e){e.preventDefault();});
  apply();
})();
"""


@dataclass(frozen=True)
class _Facets:
    """What one finding is filtered and grouped by."""

    severity: str
    gate: str
    rule: str
    service: str
    environment: str
    baseline: str
    blocking: bool


def render_html(verdict: Verdict, today: dt.date | None = None) -> str:
    """The whole page as text. `today` decides waivers' days left (default: today)."""
    today = today or dt.date.today()
    status = verdict.status
    findings = ordered([f for f in verdict.findings if not f.waived])
    facets = {id(f): _facets(f, verdict) for f in findings}
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cdgate report: {escape(status)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>cdgate report</h1>",
        f'<p><span class="status {escape(status)}">{escape(status)}</span> '
        f"{escape(STATUS_HEADLINE[status])} (exit code {verdict.exit_code})</p>",
        _summary(verdict, findings, facets),
        _blocking(findings, facets, verdict),
        _filters(findings, facets),
        _groups(findings, facets, verdict),
        _fixed(verdict),
        _waivers(verdict, today),
        _gates(verdict),
        _counts(verdict),
    ]
    if verdict.notices:
        parts.append("<h2>Notices</h2><ul>")
        parts += [f"<li>{escape(n)}</li>" for n in verdict.notices]
        parts.append("</ul>")
    parts += [f"<footer>cdgate {escape(__version__)}</footer>", "</main>", f"<script>{_SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(p for p in parts if p) + "\n"


def service_of(finding: Finding) -> str:
    """The service a finding belongs to, from its file: `services/<svc>/...`, else the top folder."""
    parts = (finding.location.path or "").split("/")
    if len(parts) >= 3 and parts[0] == "services":
        return parts[1]
    if len(parts) >= 3 and parts[0] == "environments":
        return f"environments/{parts[1]}"
    if len(parts) >= 2:
        return parts[0]
    return parts[0] or "(no file)"


def _facets(finding: Finding, verdict: Verdict) -> _Facets:
    baseline = finding.properties.get(BASELINE_PROPERTY)
    return _Facets(
        severity=finding.severity.value,
        gate=finding.gate,
        rule=finding.rule_id,
        service=service_of(finding),
        environment=finding.scope or "all",
        baseline=baseline if isinstance(baseline, str) else "",
        blocking=finding.outcome is Outcome.ERROR or is_failing(finding, verdict),
    )


def _summary(verdict: Verdict, findings: list[Finding], facets: dict[int, _Facets]) -> str:
    blocking = sum(1 for f in findings if facets[id(f)].blocking)
    new = sum(1 for f in findings if facets[id(f)].baseline == "new")
    items = [
        ("Blocking", str(blocking)),
        ("Findings", str(len(findings))),
        ("Profile", verdict.profile_name),
        ("Environment", verdict.environment or "all"),
        ("Fails on", f"{verdict.fail_on.value} and above"),
        ("Documents", str(verdict.documents)),
        ("Duration", f"{verdict.duration_s:.2f} s"),
    ]
    if any(facets[id(f)].baseline for f in findings):
        items.insert(2, ("New in this change", str(new)))
    cells = "".join(f"<div><b>{escape(k)}</b>{escape(v)}</div>" for k, v in items)
    targets = ", ".join(verdict.targets) or "-"
    return f'<div class="meta" id="summary">{cells}</div><p class="muted">Targets: {escape(targets)}</p>'


def _blocking(findings: list[Finding], facets: dict[int, _Facets], verdict: Verdict) -> str:
    blocking = [f for f in findings if facets[id(f)].blocking]
    if not blocking:
        return '<section class="blocking-zone" id="blocking"><h2>Blocking findings (0)</h2><p>Nothing blocks this change.</p></section>'
    cards = "".join(_card(f, facets[id(f)], verdict) for f in blocking)
    return (
        f'<section class="blocking-zone" id="blocking"><h2>Blocking findings ({len(blocking)})</h2>'
        '<p class="muted">These fail the gate: fix them, or waive them in gate.yaml with a reason, an owner and an expiry date.</p>'
        f'<div class="cards">{cards}</div></section>'
    )


def _filters(findings: list[Finding], facets: dict[int, _Facets]) -> str:
    if not findings:
        return ""

    def select(name: str, label: str, values: list[str]) -> str:
        options = "".join(f'<option value="{escape(v, quote=True)}">{escape(v)}</option>' for v in values)
        return f'<label>{escape(label)}<select name="{name}" id="filter-{name}"><option value="">all</option>{options}</select></label>'

    def values(attribute: str) -> list[str]:
        return sorted({getattr(facets[id(f)], attribute) for f in findings} - {""})

    severities: list[str] = [str(s.value) for s in SEVERITIES if s.value in values("severity")]
    return (
        f'<h2>All findings</h2><form id="filters" class="filters" role="search" data-total="{len(findings)}">'
        '<label>Search<input type="search" name="q" id="filter-q" placeholder="rule, resource, file, message"></label>'
        + select("severity", "Severity", severities)
        + select("gate", "Gate", values("gate"))
        + select("rule", "Rule", values("rule"))
        + select("service", "Service", values("service"))
        + select("environment", "Environment", values("environment"))
        + select("baseline", "New / unchanged", values("baseline"))
        + '<label class="check"><input type="checkbox" name="blocking" id="filter-blocking"> blocking only</label>'
        + f'<span id="shown">{len(findings)} of {len(findings)} findings shown</span></form>'
    )


def _groups(findings: list[Finding], facets: dict[int, _Facets], verdict: Verdict) -> str:
    if not findings:
        return "<h2>All findings</h2><p>No active findings.</p>"
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        f = facets[id(finding)]
        groups.setdefault((f.service, f.environment), []).append(finding)
    parts = []
    for (service, environment), members in sorted(groups.items()):
        blocking = sum(1 for f in members if facets[id(f)].blocking)
        heading = f"{service} · {environment} ({len(members)}{f', {blocking} blocking' if blocking else ''})"
        cards = "".join(_card(f, facets[id(f)], verdict) for f in members)
        parts.append(
            f'<section class="group" data-group data-service="{escape(service, quote=True)}" '
            f'data-environment="{escape(environment, quote=True)}"><h3>{escape(heading)}</h3>'
            f'<div class="cards">{cards}</div></section>'
        )
    return "".join(parts)


def _card(finding: Finding, facets: _Facets, verdict: Verdict) -> str:
    url = safe_http_url(finding.help_uri)
    rule = escape(finding.rule_id)
    if url:
        rule = f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer">{rule}</a>'
    state = state_of(finding, verdict)
    if state == "expired-waiver" and finding.waiver is not None:
        state += f" ({finding.waiver.owner}, {finding.waiver.expires})"
    badges = [f'<span class="sev {facets.severity}">{facets.severity}</span>', f'<span class="rule">{rule}</span>']
    if facets.blocking:
        badges.append('<span class="tag blocking">blocking</span>')
    else:  # the outcome word every report uses (README "Outcomes")
        badges.append(f'<span class="tag state">{escape(state_of(finding, verdict))}</span>')
    if facets.baseline:
        badges.append(f'<span class="tag {escape(facets.baseline, quote=True)}">{escape(facets.baseline)}</span>')
    title = f'<div class="title">{escape(finding.title)}</div>' if finding.title else ""
    location = f"<code>{escape(where(finding))}</code>"
    if finding.location.json_path:
        location += f"<br><code>{escape(finding.location.json_path)}</code>"
    rows = [
        ("Resource", escape(resource_label(finding))),
        ("Where", location),
        ("Gate", f"{escape(finding.gate)} · {escape(state)}"),
    ]
    if finding.remediation:
        rows.append(("Fix", f'<span class="msg">{escape(finding.remediation)}</span>'))
    if finding.tags:
        rows.append(("Tags", escape(", ".join(finding.tags))))
    details = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    text = " ".join(
        [finding.rule_id, finding.title or "", finding.message, resource_label(finding), where(finding),
         finding.location.json_path or "", facets.service, facets.environment]
    ).lower()
    data = {
        "severity": facets.severity,
        "gate": facets.gate,
        "rule": facets.rule,
        "service": facets.service,
        "environment": facets.environment,
        "baseline": facets.baseline,
        "blocking": "true" if facets.blocking else "false",
        "text": text,
    }
    attributes = " ".join(f'data-{k}="{escape(v, quote=True)}"' for k, v in data.items())
    classes = f"finding {facets.severity}" + (" is-blocking" if facets.blocking else "")
    return (
        f'<article class="{classes}" {attributes}><header>{"".join(badges)}</header>{title}'
        f'<p class="msg">{escape(finding.message)}</p><dl>{details}</dl></article>'
    )


def _fixed(verdict: Verdict) -> str:
    """Merge gate: findings at base that the change removes (SARIF `absent`)."""
    absent: list[Finding] = ordered(list(getattr(verdict, "absent", [])))
    if not absent:
        return ""
    rows = "".join(
        f'<tr><td><span class="sev {f.severity.value}">{f.severity.value}</span></td><td>{escape(f.rule_id)}</td>'
        f"<td>{escape(resource_label(f))}</td><td>{escape(f.scope or 'all')}</td><td><code>{escape(where(f))}</code></td>"
        f'<td class="msg">{escape(f.message)}</td></tr>'
        for f in absent
    )
    return (
        f'<h2 id="fixed">Fixed by this change ({len(absent)})</h2><div class="table-wrap"><table><tr><th>Severity</th>'
        "<th>Rule</th><th>Resource</th><th>Environment</th><th>Where (at base)</th><th>Message</th></tr>"
        + rows
        + "</table></div>"
    )


def _waivers(verdict: Verdict, today: dt.date) -> str:
    rows = ordered(waived_findings(verdict) + expired_waiver_findings(verdict))
    if not rows:
        return ""
    body = []
    for f in rows:
        w = f.waiver
        if w is None:
            continue
        days = _days_left(w.expires, today)
        if w.expired or (days is not None and days < 0):
            css, left = "expired", f"expired {abs(days)} day(s) ago" if days is not None else "expired"
        elif days is not None and days <= EXPIRING_DAYS:
            css, left = "expiring", f"{days} day(s) left"
        else:
            css, left = "", f"{days} day(s) left" if days is not None else "no expiry"
        body.append(
            f'<tr class="{css}"><td class="days">{escape(left)}</td><td>{escape(f.rule_id)}</td>'
            f'<td><span class="sev {f.severity.value}">{f.severity.value}</span></td>'
            f"<td>{escape(resource_label(f))}</td><td>{escape(f.scope or 'all')}</td><td>{escape(w.owner)}</td>"
            f"<td>{escape(w.expires or 'never')}</td><td class=\"msg\">{escape(w.reason)}</td></tr>"
        )
    return (
        f'<h2 id="waivers">Waivers ({len(rows)})</h2><div class="table-wrap"><table><tr><th>Days left</th><th>Rule</th>'
        "<th>Severity</th><th>Resource</th><th>Environment</th><th>Owner</th><th>Expires</th><th>Reason</th></tr>"
        + "".join(body)
        + "</table></div>"
    )


def _days_left(expires: str | None, today: dt.date) -> int | None:
    if not expires:
        return None
    try:
        return (dt.date.fromisoformat(expires) - today).days
    except ValueError:
        return None


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
        '<h2>Gates</h2><div class="table-wrap"><table><tr><th>Gate</th><th>Result</th><th>Documents</th>'
        "<th>Findings</th><th>Failing</th></tr>" + "".join(rows) + "</table></div>"
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
        '<h2>Counts</h2><div class="table-wrap"><table><tr><th>Severity</th><th>Active</th><th>Failing</th></tr>'
        + rows
        + "</table></div>"
    )
