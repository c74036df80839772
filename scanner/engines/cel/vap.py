"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1).

A policy applies through each of its bindings: the policy's matchConstraints
and the binding's matchResources must both select the request, the
binding's paramRef picks the `params` objects (by name or selector, from the
scanned objects or a params file), and the binding's validationActions
(Deny, Warn, Audit) say what a violation means. A policy with no binding is
evaluated once with `Deny` and no params, as `kyverno test` does.
failurePolicy Fail (the default) turns an expression error into a denial;
Ignore skips it, keeping the error text in `error` for the gate to report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.engines.cel.checks import ERROR, FAIL, SKIP, CelChecks, Violation, compile_checks, run_checks
from scanner.engines.cel.matching import RequestTarget, constraints_match, selector_matches
from scanner.engines.cel.program import KUBERNETES_VARIABLES
from scanner.engines.cel.request import UserInfo, admission_variables, namespace_object
from scanner.errors import PolicyError
from scanner.engines.cel.values import as_map

API_GROUP = "admissionregistration.k8s.io/"
POLICY_KIND = "ValidatingAdmissionPolicy"
BINDING_KIND = "ValidatingAdmissionPolicyBinding"


def is_vap(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == POLICY_KIND and str(doc.get("apiVersion", "")).startswith(API_GROUP)


def is_binding(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == BINDING_KIND and str(doc.get("apiVersion", "")).startswith(API_GROUP)


@dataclass(frozen=True)
class AdmissionPolicy:
    name: str
    annotations: dict[str, Any]
    path: str
    line: int
    constraints: dict[str, Any]
    checks: CelChecks
    param_kind: tuple[str, str] | None  # (apiVersion, kind)
    failure_policy: str = "Fail"

    @property
    def severity(self) -> str | None:
        value = self.annotations.get("policies.kyverno.io/severity")
        return str(value).strip().lower() if value else None


@dataclass(frozen=True)
class Binding:
    name: str
    policy_name: str
    actions: tuple[str, ...]
    match_resources: dict[str, Any] | None
    param_ref: dict[str, Any] | None


@dataclass
class VapResult:
    """One policy (through one binding) on one object."""

    policy: str
    binding: str | None
    status: str  # pass | fail | skip | error
    actions: tuple[str, ...] = ("Deny",)
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None
    audit_annotations: dict[str, str] = field(default_factory=dict)


def build_policy(doc: dict[str, Any], path: str, line: int = 1) -> AdmissionPolicy:
    meta = as_map(doc.get("metadata"))
    spec = as_map(doc.get("spec"))
    name = str(meta.get("name") or "")
    if not name:
        raise PolicyError("ValidatingAdmissionPolicy without metadata.name", path=path, line=line)
    where = f"ValidatingAdmissionPolicy {name!r}"
    if not spec.get("validations") and not spec.get("auditAnnotations"):
        raise PolicyError(f"{where}: spec.validations or spec.auditAnnotations is required", path=path, line=line)
    failure_policy = str(spec.get("failurePolicy") or "Fail")
    if failure_policy not in ("Fail", "Ignore"):
        raise PolicyError(f"{where}: failurePolicy must be Fail or Ignore, not {failure_policy!r}", path=path, line=line)
    param_kind = as_map(spec.get("paramKind"))
    return AdmissionPolicy(
        name=name,
        annotations=dict(meta.get("annotations") or {}),
        path=path,
        line=line,
        constraints=as_map(spec.get("matchConstraints")),
        checks=compile_checks(spec, where, KUBERNETES_VARIABLES, path, line=line),
        param_kind=(str(param_kind.get("apiVersion") or ""), str(param_kind.get("kind") or "")) if param_kind else None,
        failure_policy=failure_policy,
    )


def build_binding(doc: dict[str, Any], path: str, line: int = 1) -> Binding:
    meta = as_map(doc.get("metadata"))
    spec = as_map(doc.get("spec"))
    name = str(meta.get("name") or "")
    if not spec.get("policyName"):
        raise PolicyError(f"ValidatingAdmissionPolicyBinding {name!r}: spec.policyName is required", path=path, line=line)
    actions = tuple(str(a) for a in spec.get("validationActions") or ["Deny"])
    unknown = [a for a in actions if a not in ("Deny", "Warn", "Audit")]
    if unknown:
        raise PolicyError(f"ValidatingAdmissionPolicyBinding {name!r}: unknown validationActions {unknown}",
                          path=path, line=line, hint="use Deny, Warn or Audit")
    return Binding(
        name=name,
        policy_name=str(spec["policyName"]),
        actions=actions,
        match_resources=as_map(spec.get("matchResources")),
        param_ref=as_map(spec.get("paramRef")),
    )


def select_params(param_kind: tuple[str, str], ref: dict[str, Any], obj_namespace: str,
                  params: list[dict[str, Any]], owner: str) -> list[dict[str, Any]] | str:
    """The params objects a paramRef picks (by name or selector), or an error text when there are none.

    Without `paramRef.namespace`, a namespaced params object is looked up in
    the namespace of the object under review, as the API server does.
    """
    api_version, kind = param_kind
    candidates = [p for p in params if p.get("kind") == kind and str(p.get("apiVersion") or "") == api_version]
    namespace = str(ref.get("namespace") or "")
    if namespace:
        candidates = [p for p in candidates if str(as_map(p.get("metadata")).get("namespace") or "") == namespace]
    elif obj_namespace:
        local = [p for p in candidates if str(as_map(p.get("metadata")).get("namespace") or "") == obj_namespace]
        unscoped = [p for p in candidates if not as_map(p.get("metadata")).get("namespace")]
        candidates = local or unscoped or candidates
    if ref.get("name"):
        candidates = [p for p in candidates if str(as_map(p.get("metadata")).get("name") or "") == str(ref["name"])]
    elif ref.get("selector") is not None:
        candidates = [p for p in candidates if selector_matches(ref["selector"], as_map(as_map(p.get("metadata")).get("labels")))]
    if not candidates:
        wanted = ref.get("name") or ref.get("selector") or "(no paramRef)"
        return f"no {kind} params object {wanted!r} found for {owner}"
    return candidates


def _params_for(policy: AdmissionPolicy, binding: Binding, obj_namespace: str,
                params: list[dict[str, Any]]) -> list[dict[str, Any]] | str:
    assert policy.param_kind is not None
    return select_params(policy.param_kind, binding.param_ref or {}, obj_namespace, params,
                         f"binding {binding.name!r}")


def evaluate(policy: AdmissionPolicy, bindings: list[Binding], obj: dict[str, Any], operation: str = "CREATE",
             user: UserInfo | None = None, old_object: dict[str, Any] | None = None,
             namespace_labels: dict[str, dict[str, Any]] | None = None,
             params: list[dict[str, Any]] | None = None) -> list[VapResult]:
    """The policy's results on `obj`, one per binding that applies (none when it is not selected)."""
    meta = as_map(obj.get("metadata"))
    namespace = str(meta.get("namespace") or "")
    labels = (namespace_labels or {}).get(namespace)
    target = RequestTarget.of(obj, operation, labels)
    if not constraints_match(policy.constraints, target):
        return []
    base = admission_variables(obj, operation, user, obj, old_object, namespace_object(namespace, labels))
    own = [b for b in bindings if b.policy_name == policy.name]
    results: list[VapResult] = []
    for binding in own or [None]:  # type: ignore[list-item]
        actions = binding.actions if binding else ("Deny",)
        result = VapResult(policy.name, binding.name if binding else None, "pass", actions)
        if binding is not None and binding.match_resources is not None and not constraints_match(
                {"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"], "operations": ["*"]}],
                 **binding.match_resources}, target):
            result.status = SKIP
            results.append(result)
            continue
        param_sets: list[Any] = [None]
        if policy.param_kind is not None and binding is not None:
            found = _params_for(policy, binding, namespace or "default", params or [])
            if isinstance(found, str):
                not_found = str((binding.param_ref or {}).get("parameterNotFoundAction") or "Deny")
                result.status = SKIP if not_found == "Allow" else ERROR
                result.error = None if not_found == "Allow" else f"ValidatingAdmissionPolicy {policy.name!r}: {found}"
                results.append(result)
                continue
            param_sets = found
        for param in param_sets:
            outcome = run_checks(policy.checks, {**base, "params": param})
            result.audit_annotations.update(outcome.audit_annotations)
            if outcome.status == SKIP:
                result.status = SKIP
            elif outcome.status == FAIL:
                result.status = FAIL
                result.violations.extend(outcome.violations)
            elif outcome.status == ERROR and result.status != FAIL:
                if policy.failure_policy == "Ignore":  # admission lets it through; the gate still reports it
                    result.status = SKIP
                    result.error = f"ValidatingAdmissionPolicy {policy.name!r} (failurePolicy Ignore): {outcome.error}"
                else:
                    result.status, result.error = ERROR, f"ValidatingAdmissionPolicy {policy.name!r}: {outcome.error}"
        results.append(result)
    return results
