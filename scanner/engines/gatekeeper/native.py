"""K8sNativeValidation: a ConstraintTemplate's CEL code, on cdgate's CEL engine.

A template's target may carry `code: [{engine: K8sNativeValidation, source:
{...}}]` beside (or instead of) Rego. Gatekeeper picks one engine per
template by driver priority: with its CEL driver enabled (the default of
`--enable-k8s-native-validation`, in the webhook and in `gator verify`) the
K8sNativeValidation code runs and the Rego is not used; with it disabled the
Rego runs and a template with only CEL cannot be loaded. `choose_engine`
applies that rule.

The source has the fields Gatekeeper reads: `validations` (expression,
message, messageExpression), `variables`, `matchCondition` (singular, as
Gatekeeper spells it), `failurePolicy` (Fail, the default, or Ignore) and
`generateVAP` (irrelevant here). Gatekeeper evaluates it as a
ValidatingAdmissionPolicy whose param is the whole constraint object, with
two variables placed before the template's own:

- `variables.anyObject`: the object, or the old object on DELETE (where
  `object` is null, as Kubernetes has it);
- `variables.params`: the constraint's `spec.parameters`. Without them
  Gatekeeper binds null; the library's templates test
  `has(variables.params.x)` on it and their suites pass under gator, so that
  reads as false there. cel-cpp raises instead, so cdgate binds an empty
  map, on which every such `has()` is false.

`params` itself (the constraint) is visible to variables only; validations,
messageExpressions and matchConditions that name it do not compile in
Gatekeeper, and are refused here when the template is loaded. Each
expression is compiled once; a syntax or type error is a PolicyError
naming the template file, the line of the field, the expression and the
position inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from scanner.engines.cel.checks import ERROR, FAIL, SKIP, CelChecks, compile_checks, run_checks
from scanner.engines.cel.program import GATEKEEPER_VARIABLES, CelCompileError, compile_expression
from scanner.engines.cel.request import UserInfo, request_variable
from scanner.errors import PolicyError

CEL_ENGINE = "K8sNativeValidation"
REGO_ENGINE = "Rego"
RESERVED_PREFIX = "gatekeeper_internal_"
FAILURE_POLICIES = ("Fail", "Ignore")

# Gatekeeper's two variables, evaluated before the template's own (its `transform` package).
_ANY_OBJECT = 'has(request.operation) && request.operation == "DELETE" && object == null ? oldObject : object'
# Gatekeeper binds null when the constraint has no parameters (see the module docstring for why
# an empty map stands in here).
_PARAMS = "!has(params.spec) ? {} : !has(params.spec.parameters) ? {} : params.spec.parameters"
_GATEKEEPER_VARIABLES = ({"name": "anyObject", "expression": _ANY_OBJECT}, {"name": "params", "expression": _PARAMS})

# What validations, messageExpressions and matchConditions may name: no `params`, no `authorizer`.
_CONDITION_VARIABLES = tuple(v for v in GATEKEEPER_VARIABLES if v not in ("params", "authorizer", "anyObject"))
# What variables may name: the same, and `params` (the constraint).
_VARIABLE_VARIABLES = (*_CONDITION_VARIABLES, "params")


@dataclass(frozen=True)
class NativeSource:
    """A template's K8sNativeValidation `source`, with the YAML lines of its expressions."""

    source: Mapping[str, Any]
    path: str  # the template file
    line: int  # line of `source:`
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict)  # (field, index, key) -> line

    def line_of(self, *where: str | int) -> int:
        return self.lines.get(tuple(where), self.line)


@dataclass(frozen=True)
class NativeValidation:
    """Compiled K8sNativeValidation code: reuse it for every constraint and object, from any thread."""

    checks: CelChecks
    failure_policy: str


@dataclass
class NativeOutcome:
    """Violation messages of one constraint on one review, and the error that stopped it, if any."""

    messages: list[str] = field(default_factory=list)
    error: str = ""


def choose_engine(engines: tuple[str, ...], k8s_native_validation: bool) -> str | None:
    """The engine Gatekeeper runs for a template carrying `engines` (None: it cannot run it).

    Gatekeeper registers its CEL driver before the Rego driver, so the CEL
    code wins whenever the driver is enabled.
    """
    if k8s_native_validation and CEL_ENGINE in engines:
        return CEL_ENGINE
    return REGO_ENGINE if REGO_ENGINE in engines else None


def compile_native(template_name: str, native: NativeSource) -> NativeValidation:
    """Compile the source once; PolicyError (template file, line, expression, position) if it is broken."""
    source = native.source
    prefix = f"ConstraintTemplate {template_name}: K8sNativeValidation"

    def fail(message: str, *where: str | int, hint: str | None = None) -> PolicyError:
        return PolicyError(f"{prefix}: {message}", path=native.path, line=native.line_of(*where), hint=hint)

    if "matchConditions" in source and "matchCondition" not in source:
        raise fail("`matchConditions` is not a field of the source; Gatekeeper reads `matchCondition` and would "
                   "ignore it", "matchConditions", hint="rename it to matchCondition")
    failure_policy = str(source.get("failurePolicy") or "Fail")
    if failure_policy not in FAILURE_POLICIES:
        raise fail(f"failurePolicy must be Fail or Ignore, not {failure_policy!r}", "failurePolicy")
    variables = _list(source, "variables", fail)
    conditions = _list(source, "matchCondition", fail)
    validations = _list(source, "validations", fail)
    if not validations:
        raise fail("source.validations is empty, so nothing would be checked", "validations",
                   hint="add validations (CEL expressions that must be true)")
    for i, variable in enumerate(variables):
        name = str(variable.get("name") or "")
        if name in ("params", "anyObject") or name.startswith(RESERVED_PREFIX):
            raise fail(f"variables[{i}] may not be named {name!r}: Gatekeeper reserves params, anyObject and the "
                       f"{RESERVED_PREFIX} prefix", "variables", i, "name", hint="rename the variable")
        _check(variable.get("expression"), _VARIABLE_VARIABLES, fail, "variables", i, "expression")
    for i, condition in enumerate(conditions):
        name = str(condition.get("name") or "")
        if name.startswith(RESERVED_PREFIX):
            raise fail(f"matchCondition[{i}] may not be named {name!r} (reserved prefix {RESERVED_PREFIX})",
                       "matchCondition", i, "name")
        _check(condition.get("expression"), _CONDITION_VARIABLES, fail, "matchCondition", i, "expression")
    for i, validation in enumerate(validations):
        _check(validation.get("expression"), _CONDITION_VARIABLES, fail, "validations", i, "expression")
        if validation.get("messageExpression"):
            _check(validation["messageExpression"], _CONDITION_VARIABLES, fail, "validations", i, "messageExpression")
    spec = {
        "matchConditions": conditions,
        "variables": [*_GATEKEEPER_VARIABLES, *variables],
        "validations": [{k: v for k, v in item.items() if k in ("expression", "message", "messageExpression")}
                        for item in validations],
    }
    checks = compile_checks(spec, prefix, GATEKEEPER_VARIABLES, path=native.path, line=native.line)
    return NativeValidation(checks, failure_policy)


def _list(source: Mapping[str, Any], key: str, fail: Any) -> list[dict[str, Any]]:
    raw = source.get(key) or []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise fail(f"{key} must be a list of mappings", key)
    return list(raw)


def _check(expression: Any, environment: tuple[str, ...], fail: Any, *where: str | int) -> None:
    """Compile one expression in the variables Gatekeeper gives its field; PolicyError at its line."""
    shown = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in where).replace(".[", "[")
    try:
        compile_expression(str(expression) if expression is not None else "", environment)
    except CelCompileError as exc:
        hint = "fix the CEL expression (cdgate type-checks it like the API server)"
        if "params" in exc.problem and "params" not in environment:
            hint = "use variables.params (the constraint's parameters); `params` is visible to variables only"
        raise fail(f"{shown}: {exc}", *where, hint=hint) from None


def review_data(review: Mapping[str, Any], namespace_object: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CEL variables of one review (`input.review` as Gatekeeper builds it) but `params`.

    Build it once per review and pass it to `evaluate` for every constraint.
    """
    return {
        **_objects(review),
        "request": _request(review),
        "namespaceObject": dict(namespace_object) if namespace_object is not None else None,
    }


def evaluate(native: NativeValidation, data: Mapping[str, Any], constraint: Mapping[str, Any]) -> NativeOutcome:
    """The violations of one constraint on one review (`data` from `review_data`)."""
    outcome = run_checks(native.checks, {**data, "params": constraint})
    result = NativeOutcome()
    if outcome.status == SKIP:
        return result
    if outcome.status == FAIL:
        result.messages = [v.message for v in outcome.violations]
    if outcome.error and native.failure_policy == "Fail" and outcome.status in (FAIL, ERROR):
        result.error = outcome.error
    return result


def _objects(review: Mapping[str, Any]) -> dict[str, Any]:
    """`object` and `oldObject`: on DELETE `object` is null (Gatekeeper unsets the copy it makes)."""
    obj = review.get("object") if isinstance(review.get("object"), dict) and review.get("object") else None
    old = review.get("oldObject") if isinstance(review.get("oldObject"), dict) and review.get("oldObject") else None
    if str(review.get("operation") or "").upper() == "DELETE":
        obj = None
    return {"object": obj, "oldObject": old}


def _request(review: Mapping[str, Any]) -> dict[str, Any]:
    """`request` as the admission request Gatekeeper converts the review into."""
    objects = _objects(review)
    source = objects["object"] or objects["oldObject"] or {}
    raw_user = review.get("userInfo")
    user: Mapping[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    request = request_variable(
        dict(source), str(review.get("operation") or ""),
        UserInfo(str(user.get("username") or ""), tuple(str(g) for g in user.get("groups") or ()),
                 str(user.get("uid") or ""), dict(user.get("extra") or {})),
        objects["oldObject"], bool(review.get("dryRun") or False), str(review.get("uid") or ""),
    )
    kind = review.get("kind")
    if isinstance(kind, dict):
        request["kind"] = {"group": str(kind.get("group") or ""), "version": str(kind.get("version") or ""),
                           "kind": str(kind.get("kind") or "")}
    for key in ("name", "namespace"):
        if review.get(key):
            request[key] = str(review[key])
    return request
