"""The JSON report: every finding with every contract field, in a stable shape.

This is the lossless report (SARIF may be truncated for code scanning, the
Markdown is capped for PR comments). Scripts can rely on its shape, which is
`REPORT_SCHEMA` below and versioned by `schema_version`:

```
{
  "schema_version": "cdgate.report/v1",
  "tool": {"name": "cdgate", "version": "0.1.0"},
  "verdict": {"status": "failed", "exit_code": 1, "fail_on": "high",
              "profile": "default", "environment": "prod",
              "targets": ["examples/cd-repo"], "duration_s": 0.42},
  "counts": {"by_severity": {"critical": 1, ...},   # active (unwaived) findings
             "by_state": {"error": 0, "fail": 2, "expired-waiver": 1, "waived": 1, "warn": 4},
             "total": 7, "failing": 3, "warnings": 4, "errors": 0,
             "waived": 1, "expired_waivers": 1},
  "gates": [{"name": "manifest", "passed": false, "documents": 12,
             "skipped": null, "findings": 7, "failing": 3}],
  "findings": [{"rule_id": "CDG-K8S-001", "title": "...", "severity": "critical",
                "outcome": "fail", "state": "fail", "message": "...",
                "gate": "manifest", "engine": "rego", "scope": "prod",
                "fingerprint": "...",
                "location": {"path": "...", "start_line": 21, "end_line": 21,
                             "kind": "Deployment", "namespace": "shop",
                             "name": "api", "json_path": "spec...privileged",
                             "resource": "Deployment/shop/api"},
                "help_uri": "...", "remediation": "...", "tags": ["..."],
                "waiver": null | {"rule": "...", "reason": "...", "owner": "...",
                                  "expires": "2026-12-31", "expired": false},
                "properties": {}}],
  "notices": ["..."]
}
```

`state` is one of `STATES` (error, fail, expired-waiver, waived, warn).
Findings are ordered errors first, then by severity, file, line, rule and
fingerprint, so two runs over the same input give the same bytes (apart from
`duration_s`).
"""

from __future__ import annotations

import json
from typing import Any

from scanner import __version__
from scanner.findings import Finding, Outcome, Severity, Verdict
from scanner.report._common import STATES, expired_waiver_findings, is_failing, ordered, state_counts, state_of

SCHEMA_VERSION = "cdgate.report/v1"

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"], "minimum": 1}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "cdgate JSON report",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "tool", "verdict", "counts", "gates", "findings", "notices"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "tool": {
            "type": "object",
            "required": ["name", "version"],
            "properties": {"name": {"const": "cdgate"}, "version": {"type": "string"}},
        },
        "verdict": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status", "exit_code", "fail_on", "profile", "environment", "targets", "duration_s"],
            "properties": {
                "status": {"enum": ["passed", "failed", "error"]},
                "exit_code": {"enum": [0, 1, 2]},
                "fail_on": {"enum": [s.value for s in Severity]},
                "profile": {"type": "string"},
                "environment": _NULLABLE_STRING,
                "targets": {"type": "array", "items": {"type": "string"}},
                "duration_s": {"type": "number", "minimum": 0},
            },
        },
        "counts": {
            "type": "object",
            "additionalProperties": False,
            "required": ["by_severity", "by_state", "total", "failing", "warnings", "errors", "waived", "expired_waivers"],
            "properties": {
                "by_state": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": list(STATES),
                    "properties": {state: {"type": "integer", "minimum": 0} for state in STATES},
                },
                "by_severity": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": [s.value for s in Severity],
                    "properties": {s.value: {"type": "integer", "minimum": 0} for s in Severity},
                },
                **{
                    key: {"type": "integer", "minimum": 0}
                    for key in ("total", "failing", "warnings", "errors", "waived", "expired_waivers")
                },
            },
        },
        "gates": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "passed", "documents", "skipped", "findings", "failing"],
                "properties": {
                    "name": {"type": "string"},
                    "passed": {"type": "boolean"},
                    "documents": {"type": "integer", "minimum": 0},
                    "skipped": _NULLABLE_STRING,
                    "findings": {"type": "integer", "minimum": 0},
                    "failing": {"type": "integer", "minimum": 0},
                },
            },
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "rule_id", "title", "severity", "outcome", "state", "message", "gate",
                    "engine", "scope", "fingerprint", "location", "help_uri", "remediation",
                    "tags", "waiver", "properties",
                ],
                "properties": {
                    "rule_id": {"type": "string", "minLength": 1},
                    "title": _NULLABLE_STRING,
                    "severity": {"enum": [s.value for s in Severity]},
                    "outcome": {"enum": [o.value for o in Outcome]},
                    "state": {"enum": list(STATES)},
                    "message": {"type": "string"},
                    "gate": {"type": "string"},
                    "engine": {"type": "string"},
                    "scope": _NULLABLE_STRING,
                    "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    "location": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": [
                            "path", "start_line", "end_line", "kind", "namespace", "name",
                            "json_path", "resource",
                        ],
                        "properties": {
                            "path": {"type": "string"},
                            "start_line": _NULLABLE_INT,
                            "end_line": _NULLABLE_INT,
                            "kind": _NULLABLE_STRING,
                            "namespace": _NULLABLE_STRING,
                            "name": _NULLABLE_STRING,
                            "json_path": _NULLABLE_STRING,
                            "resource": {"type": "string"},
                        },
                    },
                    "help_uri": _NULLABLE_STRING,
                    "remediation": _NULLABLE_STRING,
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "waiver": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["rule", "reason", "owner", "expires", "expired"],
                                "properties": {
                                    "rule": {"type": "string"},
                                    "reason": {"type": "string"},
                                    "owner": {"type": "string"},
                                    "expires": _NULLABLE_STRING,
                                    "expired": {"type": "boolean"},
                                },
                            },
                        ]
                    },
                    "properties": {"type": "object"},
                },
            },
        },
        "notices": {"type": "array", "items": {"type": "string"}},
        "merge": {  # merge gate runs only
            "type": "object",
            "required": ["base", "head", "changed_files", "units", "block_unchanged", "cache", "absent"],
            "properties": {
                "base": {"type": "string"},
                "head": {"type": "string"},
                "changed_files": {"type": "array", "items": {"type": "string"}},
                "units": {"type": "array", "items": {"type": "string"}},
                "block_unchanged": {"type": "boolean"},
                "cache": {"type": "object"},
                "absent": {"type": "array"},
            },
        },
    },
}


def build_json_report(verdict: Verdict) -> dict[str, Any]:
    """The report as plain JSON-ready data (see the module docstring for the shape)."""
    findings = ordered(verdict.findings)
    states = state_counts(verdict)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "cdgate", "version": __version__},
        "verdict": {
            "status": verdict.status,
            "exit_code": verdict.exit_code,
            "fail_on": verdict.fail_on.value,
            "profile": verdict.profile_name,
            "environment": verdict.environment,
            "targets": list(verdict.targets),
            "duration_s": round(max(verdict.duration_s, 0.0), 3),
        },
        "counts": {
            "by_severity": verdict.counts(),
            "by_state": states,
            "total": len(findings),
            "failing": len(verdict.failing()),
            "warnings": states["warn"],  # the `warn` state: advisory, or below fail_on
            "errors": len(verdict.errors),
            "waived": sum(1 for f in findings if f.waived),
            "expired_waivers": len(expired_waiver_findings(verdict)),
        },
        "gates": [
            {
                "name": g.name,
                "passed": verdict.gate_passed(g),
                "documents": g.documents,
                "skipped": g.skipped,
                "findings": len(g.findings),
                "failing": sum(1 for f in g.findings if is_failing(f, verdict)),
            }
            for g in verdict.gates
        ],
        "findings": [_finding(f, verdict) for f in findings],
        "notices": list(verdict.notices),
        **_merge_section(verdict),
    }


def _merge_section(verdict: Verdict) -> dict[str, Any]:
    """What the merge gate adds (duck-typed on its `MergeVerdict`): refs, scope, cache, fixed findings."""
    if not hasattr(verdict, "absent"):
        return {}
    return {
        "merge": {
            "base": getattr(verdict, "base_commit", ""),
            "head": getattr(verdict, "head_commit", ""),
            "changed_files": list(getattr(verdict, "changed_files", [])),
            "units": list(getattr(verdict, "units", [])),
            "block_unchanged": bool(getattr(verdict, "block_unchanged", False)),
            "cache": {"hits": getattr(verdict, "cache_hits", 0), "misses": getattr(verdict, "cache_misses", 0)},
            "absent": [_finding(f, verdict) for f in getattr(verdict, "absent", [])],
        }
    }


def render_json(verdict: Verdict) -> str:
    """The JSON report as text: indented, keys in a fixed order, UTF-8."""
    return json.dumps(build_json_report(verdict), indent=2, ensure_ascii=False, default=str) + "\n"


def _finding(finding: Finding, verdict: Verdict) -> dict[str, Any]:
    loc = finding.location
    waiver = finding.waiver
    return {
        "rule_id": finding.rule_id,
        "title": finding.title,
        "severity": finding.severity.value,
        "outcome": finding.outcome.value,
        "state": state_of(finding, verdict),
        "message": finding.message,
        "gate": finding.gate,
        "engine": finding.engine,
        "scope": finding.scope,
        "fingerprint": finding.fingerprint,
        "location": {
            "path": loc.path,
            "start_line": loc.start_line,
            "end_line": loc.end_line,
            "kind": loc.kind,
            "namespace": loc.namespace,
            "name": loc.name,
            "json_path": loc.json_path,
            "resource": loc.resource(),
        },
        "help_uri": finding.help_uri,
        "remediation": finding.remediation,
        "tags": list(finding.tags),
        "waiver": None
        if waiver is None
        else {
            "rule": waiver.rule,
            "reason": waiver.reason,
            "owner": waiver.owner,
            "expires": waiver.expires,
            "expired": waiver.expired,
        },
        "properties": dict(finding.properties),
    }
