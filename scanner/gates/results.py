"""Raw engine results and input problems turned into catalogued findings.

The catalogue supplies title, severity, remediation, help and compliance tags
for a rule id; engines whose policies carry their own severity (Kyverno) or
that emit ids the catalogue does not know (a team's own conftest policies)
fall back to what the result says, then to `high` for a deny, so an unknown
rule can still fail the gate.
"""

from __future__ import annotations

from typing import Any

from scanner.catalog import Catalog, Rule
from scanner.engines.base import Level, RawResult
from scanner.findings import Finding, Location, Outcome, Severity

UNCATALOGUED_SEVERITY = Severity.HIGH
ENGINE_ERROR_RULE = "CDG-ERR-003"
PARSE_ERROR_RULE = "CDG-ERR-001"
RENDER_ERROR_RULE = "CDG-ERR-002"


def rule_id_for(raw: RawResult) -> str:
    if raw.level is Level.ERROR:
        return ENGINE_ERROR_RULE
    if raw.rule_id:
        return raw.rule_id
    return f"{raw.engine}:{raw.policy}"


def _severity(raw: RawResult, rule: Rule | None) -> Severity:
    if raw.severity:
        try:
            return Severity.parse(raw.severity)
        except ValueError:
            pass
    if rule is not None:
        return rule.severity
    return UNCATALOGUED_SEVERITY


def finding_from_raw(raw: RawResult, catalog: Catalog, gate: str) -> Finding:
    """One RawResult as a Finding pointing at the offending field's line."""
    rule_id = rule_id_for(raw)
    rule = catalog.get(rule_id)
    doc = raw.document
    if doc is not None:
        line = doc.line_for(raw.json_path) if raw.json_path else doc.start_line
        end = line if raw.json_path else doc.end_line
        location = Location(
            path=doc.path,
            start_line=line,
            end_line=max(end, line),
            kind=doc.kind,
            namespace=doc.namespace,
            name=doc.name,
            json_path=raw.json_path,
        )
        scope = doc.scope
    else:
        location = Location(path=raw.policy_path or raw.policy, start_line=raw.policy_line, end_line=raw.policy_line)
        scope = None
    outcome = {Level.DENY: Outcome.FAIL, Level.WARN: Outcome.WARN, Level.ERROR: Outcome.ERROR}[raw.level]
    properties: dict[str, Any] = {"policy": raw.policy, **raw.properties}
    if rule is not None:
        properties["description"] = rule.description
    if doc is not None and doc.rendered_from:
        properties["rendered_from"] = doc.rendered_from
    return Finding(
        rule_id=rule_id,
        severity=_severity(raw, rule) if raw.level is not Level.ERROR else Severity.CRITICAL,
        message=raw.message,
        location=location,
        engine=raw.engine,
        gate=gate,
        outcome=outcome,
        title=(rule.title if rule else None) or raw.title,
        help_uri=rule.help_uri if rule else None,
        remediation=rule.remediation if rule else None,
        tags=rule.tags if rule else ("security",),
        scope=scope,
        properties=properties,
    )


def finding_from_problem(problem: Any, catalog: Catalog, gate: str) -> Finding:
    """An input problem (parse, render, size...) as an ERROR finding (or a warning)."""
    rule_id = RENDER_ERROR_RULE if problem.kind == "render" else PARSE_ERROR_RULE
    rule = catalog.get(rule_id)
    message = problem.message
    if problem.hint:
        message = f"{message} ({problem.hint})"
    blocking = getattr(problem, "blocking", True)
    return Finding(
        rule_id=rule_id,
        severity=(rule.severity if rule else Severity.CRITICAL) if blocking else Severity.INFO,
        message=message,
        location=Location(path=problem.path, start_line=problem.line, end_line=problem.line),
        engine="cdgate",
        gate=gate,
        outcome=Outcome.ERROR if blocking else Outcome.WARN,
        title=rule.title if rule else None,
        help_uri=rule.help_uri if rule else None,
        remediation=rule.remediation if rule else None,
        tags=rule.tags if rule else (),
        properties={"problem": problem.kind, "column": problem.column},
    )
