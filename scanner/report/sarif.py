"""SARIF 2.1.0 for GitHub code scanning, built from the verdict alone.

Code scanning accepts a subset of SARIF and rejects whole files that break
its limits, so this writer keeps to them on purpose:

- one run, driver `cdgate`, `automationDetails.id` = `cdgate/<category>/<env>/`
  (the category defaults to the profile name, so alerts of prod and dev runs
  of the same repo never close each other);
- URIs relative to the repository root (`uriBaseId` `%SRCROOT%`, forward
  slashes, no leading `./` or `/`) and `region.startLine` at the offending
  field (line 1 of the file, flagged in the result's properties, when the
  line is unknown);
- rules with `help` (text and markdown, including the remediation),
  `helpUri`, at most 20 tags and `security-severity`;
- `partialFingerprints` from resource identity (`Finding.fingerprint`),
  never from line numbers, so moving a resource keeps its alert;
- waived findings carry an external, accepted `suppression`;
- error findings (cdgate could not evaluate) are also
  `toolExecutionNotifications` and the invocation is unsuccessful;
- at most 25,000 results per run and 10 MB gzipped: beyond that the lowest
  severities are dropped first (errors last of all) and the run says so in
  `properties["cdgate/truncated"]` and in a notification.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scanner import __version__
from scanner.findings import Finding, Outcome, Severity, Verdict, finding_sort_key
from scanner.report._common import (
    SEVERITIES,
    is_failing,
    ordered,
    safe_http_url,
    state_of,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "cdgate"
FINGERPRINT_KEY = "cdgateFingerprint/v1"
SRCROOT = "%SRCROOT%"
TRUNCATION_PROPERTY = "cdgate/truncated"

# GitHub code scanning's hard limits for one uploaded file.
MAX_RESULTS_PER_RUN = 25_000
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_TAGS_PER_RULE = 20

# Indented JSON is for people; past this many results it is written compact
# (Python's indenting encoder is about 4x slower and the file twice as big).
PRETTY_MAX_RESULTS = 2_000


@dataclass(frozen=True)
class SarifLimits:
    """Upload limits to respect; the defaults are GitHub code scanning's."""

    max_results: int = MAX_RESULTS_PER_RUN
    max_gzip_bytes: int = MAX_GZIP_BYTES


@dataclass(frozen=True)
class Truncation:
    """What was left out of the run to stay within the limits."""

    total: int
    kept: int
    dropped_by_severity: dict[str, int]
    reason: str

    def as_property(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "kept": self.kept,
            "dropped": self.total - self.kept,
            "droppedBySeverity": self.dropped_by_severity,
            "reason": self.reason,
        }

    def message(self) -> str:
        parts = ", ".join(f"{n} {sev}" for sev, n in self.dropped_by_severity.items() if n)
        return (
            f"SARIF truncated ({self.reason}): kept {self.kept} of {self.total} results, "
            f"dropped the lowest severities first ({parts}). See the JSON report for all findings."
        )


def render_sarif(
    verdict: Verdict,
    *,
    category: str | None = None,
    limits: SarifLimits = SarifLimits(),
) -> str:
    """The SARIF log as JSON text, within `limits` once gzipped.

    Results are dropped lowest severity first until it fits; only a log
    whose run metadata alone exceeds the size limit (never seen in practice)
    can stay over it.
    """
    text, _ = _render_within_limits(verdict, category, limits)
    return text


def build_sarif(
    verdict: Verdict,
    *,
    category: str | None = None,
    limits: SarifLimits = SarifLimits(),
) -> dict[str, Any]:
    """The SARIF log as a dict (same content as `render_sarif`)."""
    log: dict[str, Any] = json.loads(render_sarif(verdict, category=category, limits=limits))
    return log


def automation_id(verdict: Verdict, category: str | None = None) -> str:
    """`cdgate/<category>/<env>/`: the trailing slash makes all of it the category."""
    return f"{TOOL_NAME}/{_slug(category or verdict.profile_name)}/{_slug(verdict.environment or 'all')}/"


def artifact_uri(path: str) -> tuple[str, bool]:
    """A repo-relative URI for `path`, and whether it is relative to `%SRCROOT%`.

    Paths are POSIX paths (cdgate runs on POSIX), so a backslash is part of
    a file name and is percent-encoded, never turned into a folder separator.
    Leading `./` and `/` of relative forms are removed; characters that are
    not allowed in a URI are percent-encoded. A path that is absolute on
    disk cannot be made relative without the repository root, so it stays
    an absolute `file://` URI.
    """
    text = path
    if re.match(r"^[A-Za-z]:/", text):  # a Windows drive path
        return "file:///" + quote(text, safe="/:"), False
    if text.startswith("/") and not text.startswith("//"):
        return "file://" + quote(text, safe="/"), False
    while text.startswith("./"):
        text = text[2:]
    text = re.sub(r"/{2,}", "/", text.lstrip("/"))
    text = re.sub(r"(^|/)\./", r"\1", text)
    return quote(text, safe="/-._~!$&'()*+,;=@"), True


def _original_uri_base_ids(verdict: Verdict) -> dict[str, Any]:
    """`originalUriBaseIds` naming the directory `%SRCROOT%` stands for, when it is known."""
    if not verdict.root:
        return {}
    base = "file://" + quote(verdict.root.rstrip("/") + "/", safe="/")
    if not base.startswith("file:///"):
        base = "file:///" + base[len("file://") :]
    return {
        "originalUriBaseIds": {
            SRCROOT: {"uri": base, "description": {"text": "The repository root; result URIs are relative to it."}}
        }
    }


# --- building ---------------------------------------------------------------


def _render_within_limits(
    verdict: Verdict, category: str | None, limits: SarifLimits
) -> tuple[str, Truncation | None]:
    findings = verdict.findings
    by_priority = sorted(findings, key=lambda f: _priority_key(f, verdict))
    keep = min(len(by_priority), max(limits.max_results, 0))
    reason = "more than %d results per run" % limits.max_results if keep < len(by_priority) else ""

    while True:
        kept = by_priority[:keep]
        truncation = None
        if keep < len(by_priority):
            truncation = _truncation(findings, kept, reason)
        log = _log(verdict, kept, category, truncation)
        text = _dumps(log, pretty=keep <= PRETTY_MAX_RESULTS)
        size = len(gzip.compress(text.encode("utf-8"), compresslevel=6))
        if size <= limits.max_gzip_bytes or keep == 0:
            return text, truncation
        # Over the size limit: estimate how many results fit and try again,
        # a little under the estimate so it converges in one or two passes.
        shrink = min(int(keep * (limits.max_gzip_bytes / size) * 0.95), keep - 1)
        keep = max(shrink, 0)
        reason = "over %d bytes gzipped" % limits.max_gzip_bytes


def _dumps(log: dict[str, Any], *, pretty: bool) -> str:
    if pretty:
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(log, ensure_ascii=False, separators=(",", ":")) + "\n"


def _priority_key(finding: Finding, verdict: Verdict) -> tuple[Any, ...]:
    """Which findings survive truncation: errors, then severity, then blocking ones."""
    return (
        0 if finding.outcome is Outcome.ERROR else 1,
        -finding.severity.rank,
        0 if is_failing(finding, verdict) else 1 if finding.blocking else 2,
        finding_sort_key(finding),
    )


def _truncation(all_findings: list[Finding], kept: list[Finding], reason: str) -> Truncation:
    kept_ids = {id(f) for f in kept}
    dropped = {s.value: 0 for s in SEVERITIES}
    for f in all_findings:
        if id(f) not in kept_ids:
            dropped[f.severity.value] += 1
    return Truncation(total=len(all_findings), kept=len(kept), dropped_by_severity=dropped, reason=reason)


def _log(
    verdict: Verdict, kept: list[Finding], category: str | None, truncation: Truncation | None
) -> dict[str, Any]:
    findings = ordered(kept)
    absent = list(getattr(verdict, "absent", ()))  # merge gate: base findings the change fixed
    rules, rule_index = _rules(findings + absent)
    results: list[dict[str, Any]] = []
    unlocated = 0
    for finding in findings:
        result = _result(finding, verdict, rule_index[finding.rule_id])
        if result is None:
            unlocated += 1
            continue
        results.append(result)
    results.extend(r for r in (_result(f, verdict, rule_index[f.rule_id]) for f in absent) if r is not None)

    notifications = _notifications(verdict, findings, rule_index, truncation, unlocated)
    run_properties: dict[str, Any] = {
        "cdgate/verdict": verdict.status,
        "cdgate/exitCode": verdict.exit_code,
        "cdgate/profile": verdict.profile_name,
        "cdgate/environment": verdict.environment,
        "cdgate/failOn": verdict.fail_on.value,
        "cdgate/targets": list(verdict.targets),
        "cdgate/counts": verdict.counts(),
        "cdgate/gates": [
            {
                "name": g.name,
                "passed": verdict.gate_passed(g),
                "documents": g.documents,
                "findings": len(g.findings),
                "skipped": g.skipped,
            }
            for g in verdict.gates
        ],
    }
    if truncation is not None:
        run_properties[TRUNCATION_PROPERTY] = truncation.as_property()
    if unlocated:
        run_properties["cdgate/unlocatedFindings"] = unlocated

    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "automationDetails": {"id": automation_id(verdict, category)},
        "invocations": [
            {
                "executionSuccessful": not verdict.errors,
                "exitCode": verdict.exit_code,
                "toolExecutionNotifications": notifications,
            }
        ],
        **_original_uri_base_ids(verdict),
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": run_properties,
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def _rules(findings: list[Finding]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One reporting descriptor per rule id, described by its most severe finding."""
    first: dict[str, Finding] = {}
    for f in findings:  # already most severe first
        first.setdefault(f.rule_id, f)
    rules = [_rule(first[rule_id]) for rule_id in sorted(first)]
    return rules, {rule["id"]: i for i, rule in enumerate(rules)}


def _rule(finding: Finding) -> dict[str, Any]:
    title = finding.title or finding.rule_id
    description = str(finding.properties.get("description") or title)
    help_uri = safe_http_url(finding.help_uri)

    help_text = [title, "", description] if description != title else [title]
    help_md = [f"**{title}**", ""] + ([description, ""] if description != title else [])
    if finding.remediation:
        help_text += ["", f"Remediation: {finding.remediation}"]
        help_md += ["### Remediation", "", finding.remediation, ""]
    if help_uri:
        help_text += ["", f"Reference: {help_uri}"]
        help_md += [f"[Reference]({help_uri})"]

    properties: dict[str, Any] = {
        "tags": _tags(finding),
        "precision": str(finding.properties.get("precision", "high")),
        "problem.severity": _PROBLEM_SEVERITY[_default_level(finding.severity)],
    }
    if finding.severity is not Severity.INFO:
        # GitHub buckets 0.1-3.9 low ... 9.0+ critical; 0.0 is no security severity.
        properties["security-severity"] = finding.severity.security_severity

    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "name": _pascal_name(title, finding.rule_id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": "\n".join(help_text).strip(), "markdown": "\n".join(help_md).strip()},
        "defaultConfiguration": {"level": _default_level(finding.severity)},
        "properties": properties,
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def _tags(finding: Finding) -> list[str]:
    tags: list[str] = []
    for tag in ("security", *finding.tags):
        if tag and tag not in tags:
            tags.append(str(tag))
    return tags[:MAX_TAGS_PER_RULE]


def _result(finding: Finding, verdict: Verdict, rule_index: int) -> dict[str, Any] | None:
    location = _location(finding, verdict)
    if location is None:
        return None
    loc = finding.location
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "state": state_of(finding, verdict),
        "gate": finding.gate,
        "engine": finding.engine,
    }
    for key, value in (
        ("scope", finding.scope),
        ("kind", loc.kind),
        ("namespace", loc.namespace),
        ("name", loc.name),
        ("jsonPath", loc.json_path),
    ):
        if value is not None:
            properties[key] = value
    if loc.start_line is None:
        properties["cdgate/lineUnknown"] = True
    if not loc.path:
        properties["cdgate/locationFallback"] = True

    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _result_level(finding, verdict),
        "message": {"text": finding.message or finding.title or finding.rule_id},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }
    baseline = finding.properties.get("cdgate/baselineState")  # set by the merge gate
    if baseline in ("new", "unchanged", "updated", "absent"):
        result["baselineState"] = baseline
        if baseline == "absent":
            result["level"] = "none"  # fixed by the change: reported, never failing
    waiver = finding.waiver
    if waiver is not None and finding.waived:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver.reason,
                "properties": {"owner": waiver.owner, "expires": waiver.expires, "rule": waiver.rule},
            }
        ]
    elif waiver is not None:
        properties["cdgate/expiredWaiver"] = {
            "owner": waiver.owner,
            "expires": waiver.expires,
            "reason": waiver.reason,
            "rule": waiver.rule,
        }
    return result


def _location(finding: Finding, verdict: Verdict) -> dict[str, Any] | None:
    loc = finding.location
    path = loc.path or (verdict.targets[0] if verdict.targets else "")
    if not path:
        return None
    uri, relative = artifact_uri(path)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = SRCROOT
    start = loc.start_line if loc.start_line and loc.start_line >= 1 else 1
    region: dict[str, Any] = {"startLine": start}
    if loc.start_line and loc.end_line and loc.end_line >= start:
        region["endLine"] = loc.end_line
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": artifact, "region": region}}
    logical = _logical_locations(finding)
    if logical:
        location["logicalLocations"] = logical
    return location


def _logical_locations(finding: Finding) -> list[dict[str, Any]]:
    loc = finding.location
    resource = loc.resource()
    out: list[dict[str, Any]] = []
    if resource:
        out.append({"name": loc.name or resource, "fullyQualifiedName": resource, "kind": "resource"})
    if loc.json_path:
        qualified = f"{resource}:{loc.json_path}" if resource else loc.json_path
        out.append({"name": loc.json_path, "fullyQualifiedName": qualified, "kind": "property"})
    return out


def _notifications(
    verdict: Verdict,
    findings: list[Finding],
    rule_index: dict[str, int],
    truncation: Truncation | None,
    unlocated: int,
) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    for f in findings:
        if f.outcome is not Outcome.ERROR:
            continue
        note: dict[str, Any] = {
            "level": "error",
            "message": {"text": f.message or f.rule_id},
            "associatedRule": {"id": f.rule_id, "index": rule_index[f.rule_id]},
        }
        location = _location(f, verdict)
        if location is not None:
            note["locations"] = [location]
        notes.append(note)
    for notice in verdict.notices:
        notes.append({"level": "warning", "message": {"text": notice}})
    if truncation is not None:
        notes.append({"level": "warning", "message": {"text": truncation.message()}})
    if unlocated:
        notes.append(
            {
                "level": "warning",
                "message": {
                    "text": f"{unlocated} finding(s) name no file and were left out of the results; "
                    "see the JSON report."
                },
            }
        )
    return notes


# GitHub's wording for non-security rules; `security-severity` wins when present.
_PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}


def _default_level(severity: Severity) -> str:
    if severity.at_least(Severity.HIGH):
        return "error"
    if severity is Severity.MEDIUM:
        return "warning"
    return "note"


def _result_level(finding: Finding, verdict: Verdict) -> str:
    """`error` when the finding fails the gate or could not be evaluated.

    Otherwise the level follows the severity but never reaches `error`, so a
    code-scanning check configured on levels agrees with cdgate's verdict.
    """
    if finding.outcome is Outcome.ERROR or is_failing(finding, verdict):
        return "error"
    if finding.waived and finding.outcome is Outcome.FAIL and finding.severity.at_least(verdict.fail_on):
        return "error"  # suppressed in code scanning, but it is what would have failed
    return "warning" if finding.severity.at_least(Severity.MEDIUM) else "note"


def _pascal_name(title: str, fallback: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name or re.sub(r"[^A-Za-z0-9]", "", fallback) or "Rule"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "none"
