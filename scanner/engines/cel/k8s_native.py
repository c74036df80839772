"""Gatekeeper `K8sNativeValidation` code: the CEL engine of a ConstraintTemplate.

A ConstraintTemplate target may carry `code: [{engine: K8sNativeValidation,
source: {...}}]` next to (or instead of) Rego. `source` has the shape of a
ValidatingAdmissionPolicy spec (matchConditions, variables, validations with
message/messageExpression). Gatekeeper adds two variables before the
template's own: `variables.anyObject` (the object, or the old object on
DELETE) and `variables.params` (the constraint's `spec.parameters`); `params`
is the constraint's parameters too.

`evaluate_native_validation` returns the violation messages (an empty list
means the object passes); an expression that cannot be compiled or
evaluated raises `NativeValidationError` naming the expression, so the
caller can report an error finding instead of a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from scanner.engines.cel.checks import ERROR, FAIL, SKIP, CelChecks, compile_checks, run_checks
from scanner.engines.cel.program import GATEKEEPER_VARIABLES
from scanner.engines.cel.request import UserInfo, request_variable
from scanner.errors import CdgateError, PolicyError


class NativeValidationError(CdgateError):
    """K8sNativeValidation code that does not compile or fails on an object."""


@dataclass(frozen=True)
class NativeValidation:
    """A compiled K8sNativeValidation `source`; reuse it for every object and constraint."""

    checks: CelChecks
    where: str


def compile_native_validation(source: Mapping[str, Any], where: str = "K8sNativeValidation") -> NativeValidation:
    """Compile a template's `source` once; NativeValidationError names the field, expression and position."""
    if not isinstance(source, Mapping):
        raise NativeValidationError(f"{where}: source must be a mapping")
    try:
        checks = compile_checks(dict(source), where, GATEKEEPER_VARIABLES)
    except PolicyError as exc:
        raise NativeValidationError(exc.message, hint=exc.hint) from None
    if not checks.validations:
        raise NativeValidationError(f"{where}: source.validations is empty, so nothing would be checked")
    return NativeValidation(checks, where)


_CACHE: dict[str, NativeValidation] = {}


def _compiled(source: Mapping[str, Any], where: str) -> NativeValidation:
    key = json.dumps(source, sort_keys=True, default=str)
    found = _CACHE.get(key)
    if found is None:
        found = compile_native_validation(source, where)
        if len(_CACHE) < 1024:
            _CACHE[key] = found
    return found


def evaluate_native_validation(source: Mapping[str, Any] | NativeValidation, review_object: Mapping[str, Any] | None,
                               old_object: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None,
                               request: Mapping[str, Any] | None = None,
                               where: str = "K8sNativeValidation") -> list[str]:
    """Violation messages of K8sNativeValidation code on one object (empty: it passes).

    `params` is the constraint's `spec.parameters`; `request` is an
    AdmissionRequest-like mapping (operation, userInfo, ...) merged over
    the one cdgate builds from the object. matchConditions that are false
    mean the template does not apply: no violations.
    """
    compiled = source if isinstance(source, NativeValidation) else _compiled(source, where)
    obj = dict(review_object) if review_object is not None else None
    old = dict(old_object) if old_object is not None else None
    any_object = obj if obj is not None else old
    base = request_variable(any_object or {}, str((request or {}).get("operation") or "CREATE"), UserInfo(), old)
    data = {
        "object": obj,
        "oldObject": old,
        "request": {**base, **dict(request or {})},
        "params": dict(params) if params is not None else None,
        "namespaceObject": None,
        "variables": {"anyObject": any_object, "params": dict(params) if params is not None else None},
    }
    outcome = run_checks(compiled.checks, data)
    if outcome.status == SKIP:
        return []
    if outcome.status == ERROR:
        raise NativeValidationError(f"{compiled.where}: {outcome.error}",
                                    hint="the template's CEL failed on this object; it is not a pass")
    if outcome.status == FAIL:
        return [v.message for v in outcome.violations]
    return []
