"""Constraints: an instance of a template's kind, with match, parameters and an action.

Parameters are validated against the template's `openAPIV3Schema` as the
API server would validate the constraint's CRD (types, enums, required
fields; unknown fields are pruned there, so they pass here). The
enforcement action decides what a violation means to cdgate:

- `deny` (the default) fails the gate;
- `warn` is a warning;
- `dryrun` is a warning too: Gatekeeper records dry-run violations in audit
  without blocking, and cdgate keeps them visible without failing the gate;
- `scoped` takes the strongest action among `scopedEnforcementActions` whose
  enforcement points include `validation.gatekeeper.sh`, `gator.gatekeeper.sh`
  or `*` (a constraint scoped only to audit does not act in cdgate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from scanner.engines.gatekeeper.match import FailAt, Match, parse_match
from scanner.engines.gatekeeper.template import ConstraintTemplate
from scanner.errors import PolicyError
from scanner.inputs.document import Document, parse_json_path

CONSTRAINT_API_GROUP = "constraints.gatekeeper.sh"
ACTIONS = ("deny", "warn", "dryrun")
CDGATE_ENFORCEMENT_POINTS = ("validation.gatekeeper.sh", "gator.gatekeeper.sh", "*")
_ACTION_STRENGTH = {"dryrun": 0, "warn": 1, "deny": 2}
_SCHEMA_NOISE = re.compile(r"^x-kubernetes-")


class ParameterSchemaError(PolicyError):
    """A constraint's parameters fail its template's openAPIV3Schema (gator's ErrSchema)."""


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint, checked against its template."""

    kind: str
    name: str
    path: str
    line: int
    match: Match
    parameters: Mapping[str, Any] = field(default_factory=dict)
    action: str = "deny"  # deny | warn | dryrun (scoped resolved at load); "" = does not act here
    obj: Mapping[str, Any] = field(default_factory=dict)  # the whole constraint (CEL code sees it as `params`)

    @property
    def rule_id(self) -> str:
        return f"gatekeeper:{self.kind}/{self.name}"


def is_constraint(obj: Any) -> bool:
    return isinstance(obj, dict) and str(obj.get("apiVersion", "")).startswith(CONSTRAINT_API_GROUP + "/")


def parse_constraint(doc: Document, templates: Mapping[str, ConstraintTemplate]) -> Constraint:
    """A `Constraint`; PolicyError when its kind has no template, its match or parameters are invalid."""
    obj = doc.obj
    kind = str(obj.get("kind") or "")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = str(meta.get("name") or "")
    prefix = f"constraint {kind}/{name or '?'}"
    if not name:
        raise PolicyError(f"{prefix}: metadata.name is missing", path=doc.path, line=doc.start_line)
    template = templates.get(kind)
    if template is None:
        known = ", ".join(sorted(templates)) or "none"
        raise PolicyError(
            f"{prefix}: no ConstraintTemplate defines the kind {kind!r} (templates loaded: {known})",
            path=doc.path,
            line=doc.line_for(("kind",)),
            hint="add the template's file to gatekeeper.policies, or fix the constraint's kind",
        )
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}

    def line_of(dotted: str) -> int:
        return doc.line_for(parse_json_path(dotted.rstrip(".")))

    match = parse_match(spec.get("match"), FailAt(doc.path, line_of, prefix))
    parameters: Any = spec.get("parameters") if spec.get("parameters") is not None else {}
    validate_parameters(parameters, template, doc, prefix)
    if not isinstance(parameters, dict):
        raise PolicyError(f"{prefix}: spec.parameters must be a mapping", path=doc.path, line=doc.line_for(("spec", "parameters")))
    return Constraint(
        kind=kind,
        name=name,
        path=doc.path,
        line=doc.start_line,
        match=match,
        parameters=parameters,
        action=_action(spec, doc, prefix),
        obj=obj,
    )


def _action(spec: Mapping[str, Any], doc: Document, prefix: str) -> str:
    action = str(spec.get("enforcementAction") or "deny")
    if action in ACTIONS:
        return action
    if action == "scoped":
        chosen = ""
        for entry in spec.get("scopedEnforcementActions") or []:
            if not isinstance(entry, dict):
                continue
            points = entry.get("enforcementPoints") or [{"name": "*"}]
            names = {str(p.get("name")) for p in points if isinstance(p, dict)}
            candidate = str(entry.get("action") or "")
            if candidate not in ACTIONS:
                raise PolicyError(
                    f"{prefix}: scopedEnforcementActions action {candidate!r} is not one of {', '.join(ACTIONS)}",
                    path=doc.path,
                    line=doc.line_for(("spec", "scopedEnforcementActions")),
                )
            if names & set(CDGATE_ENFORCEMENT_POINTS) and _ACTION_STRENGTH[candidate] >= _ACTION_STRENGTH.get(chosen, -1):
                chosen = candidate
        return chosen
    raise PolicyError(
        f"{prefix}: enforcementAction {action!r} is not deny, warn, dryrun or scoped",
        path=doc.path,
        line=doc.line_for(("spec", "enforcementAction")),
        hint="use deny, warn or dryrun",
    )


def openapi_to_jsonschema(schema: Any) -> Any:
    """An openAPIV3Schema as JSON Schema: `nullable` widens the type, `x-kubernetes-*` is dropped."""
    if isinstance(schema, list):
        return [openapi_to_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if _SCHEMA_NOISE.match(str(key)) or key == "nullable":
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: openapi_to_jsonschema(v) for k, v in value.items()} if isinstance(value, dict) else value
        else:
            out[key] = openapi_to_jsonschema(value)
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def validate_parameters(parameters: Any, template: ConstraintTemplate, doc: Document, prefix: str) -> None:
    """Raise PolicyError at the offending parameter's line when the template's schema rejects it."""
    import jsonschema

    if template.schema is None:
        return
    schema = openapi_to_jsonschema(template.schema)
    try:
        validator = jsonschema.Draft7Validator(schema)
        errors = sorted(validator.iter_errors(parameters), key=lambda e: list(map(str, e.absolute_path)))
    except jsonschema.SchemaError as exc:
        raise PolicyError(
            f"ConstraintTemplate {template.name}: openAPIV3Schema is not a valid schema: {exc.message}",
            path=template.path,
            line=template.line,
        ) from None
    if not errors:
        return
    err = errors[0]
    field_path = ("spec", "parameters", *err.absolute_path)
    shown = ".".join(str(p) for p in ("parameters", *err.absolute_path))
    raise ParameterSchemaError(
        f"{prefix}: {shown}: {err.message} (schema of template {template.name})",
        path=doc.path,
        line=doc.line_for(field_path),
        hint=f"make the parameters match the openAPIV3Schema in {template.path}",
    )
