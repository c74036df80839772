"""The one finding factory: raw results become catalogued findings here.

Every gate's raw results, every input problem and every notice about a waiver
becomes a `Finding` through `finding_from_raw`, which reads the catalogue it
is given (title, severity, remediation, help, compliance tags). Engines whose
policies carry their own severity (Kyverno annotations) or that emit ids the
catalogue does not know (a team's own conftest policies) fall back to what
the result says, then to `high` for a deny, so an unknown rule can still fail
the gate.
"""

from __future__ import annotations

from typing import Any

from scanner.catalog import Catalog, Rule
from scanner.engines.base import Level, RawResult, SourceLocation
from scanner.findings import Finding, Location, Outcome, Severity
from scanner.inputs.document import parse_json_path
from scanner.inputs.problems import InputProblem

UNCATALOGUED_SEVERITY = Severity.HIGH
ERROR_SEVERITY = Severity.CRITICAL
ENGINE_ERROR_RULE = "CDG-ERR-003"
PARSE_ERROR_RULE = "CDG-ERR-001"
RENDER_ERROR_RULE = "CDG-ERR-002"
NOTHING_CHECKED_RULE = "CDG-ERR-004"
_PROBLEM_RULES = {"render": RENDER_ERROR_RULE, "nothing": NOTHING_CHECKED_RULE}
INPUT_ENGINE = "cdgate"

_OUTCOMES = {Level.DENY: Outcome.FAIL, Level.WARN: Outcome.WARN, Level.ERROR: Outcome.ERROR}


def rule_id_for(raw: RawResult, catalog: Catalog) -> str:
    """The result's own rule id, else `engine:policy`.

    An engine error keeps its id only when the catalogue has it (a registry
    error is CDG-SUP-006); any other error is CDG-ERR-003, whichever policy
    raised it, so errors read alike and cannot be disabled by a rule glob.
    """
    if raw.level is Level.ERROR:
        return raw.rule_id if raw.rule_id and catalog.get(raw.rule_id) else ENGINE_ERROR_RULE
    return raw.rule_id or f"{raw.engine}:{raw.policy}"


def _severity(raw: RawResult, rule: Rule | None) -> Severity:
    if raw.severity:
        try:
            return Severity.parse(raw.severity)
        except ValueError:
            pass
    if rule is not None:
        return rule.severity
    return ERROR_SEVERITY if raw.level is Level.ERROR else UNCATALOGUED_SEVERITY


def _location(raw: RawResult) -> Location:
    doc, own = raw.document, raw.location
    if own is not None:
        return Location(
            path=own.path,
            start_line=own.start_line,
            end_line=own.end_line if own.end_line is not None else own.start_line,
            kind=own.kind or (doc.kind if doc else None),
            namespace=own.namespace or (doc.namespace if doc else None),
            name=own.name or ((doc.identity_name or doc.name) if doc else None),
            json_path=raw.json_path,
        )
    if doc is not None:
        path, line = doc.source_for(raw.json_path) if raw.json_path else (doc.path, doc.start_line)
        end = line if raw.json_path else doc.end_line
        return Location(
            path=path,
            start_line=line,
            end_line=max(end, line),
            kind=doc.kind,
            namespace=doc.namespace,
            name=doc.identity_name or doc.name,
            json_path=raw.json_path,
        )
    return Location(path=raw.policy_path or raw.policy, start_line=raw.policy_line, end_line=raw.policy_line)


def finding_from_raw(raw: RawResult, catalog: Catalog, gate: str, environment: str | None = None) -> Finding:
    """One RawResult as a Finding pointing at the offending field's line."""
    rule_id = rule_id_for(raw, catalog)
    rule = catalog.get(rule_id)
    doc = raw.document
    properties: dict[str, Any] = {"policy": raw.policy, **raw.properties}
    if rule is not None:
        properties["description"] = rule.description
    if doc is not None and doc.rendered_from:
        properties["rendered_from"] = doc.rendered_from
    if doc is not None and raw.json_path and doc.values_origin:
        sources = doc.values_origin.get(parse_json_path(raw.json_path))
        if sources:  # the template line splices the value in: name the values it came from
            properties["values_files"] = list(sources)
    return Finding(
        rule_id=rule_id,
        severity=_severity(raw, rule),
        message=raw.message,
        location=_location(raw),
        engine=raw.engine,
        gate=gate,
        outcome=_OUTCOMES[raw.level],
        title=(rule.title if rule else None) or raw.title,
        help_uri=rule.help_uri if rule else None,
        remediation=rule.remediation if rule else None,
        tags=rule.tags if rule else ("security",),
        scope=(doc.scope if doc else None) or raw.scope or environment,
        properties=properties,
    )


def raw_from_problem(problem: InputProblem) -> RawResult:
    """An input problem (parse, render, size...) as an ERROR result, or an info warning when not blocking."""
    message = f"{problem.message} ({problem.hint})" if problem.hint else problem.message
    return RawResult(
        engine=INPUT_ENGINE,
        policy=problem.kind,
        message=message,
        level=Level.ERROR if problem.blocking else Level.WARN,
        rule_id=_PROBLEM_RULES.get(problem.kind, PARSE_ERROR_RULE),
        location=SourceLocation(path=problem.path, start_line=problem.line, end_line=problem.line, column=problem.column),
        severity=None if problem.blocking else Severity.INFO.value,
        properties={"problem": problem.kind, "column": problem.column},
    )


def engine_failure(source: str, exc: BaseException) -> RawResult:
    """An engine or gate that raised, as an ERROR result: a crash is never a pass."""
    detail = str(exc).split("Stack backtrace:")[0].strip().splitlines()
    text = detail[0] if detail else ""
    return RawResult(
        engine=source,
        policy=source,
        message=f"{source} failed: {type(exc).__name__}: {text}".rstrip(": ")
        + " (this is a bug in cdgate or the engine; the run fails closed, please report it)",
        level=Level.ERROR,
    )
