"""Kyverno `ValidatingPolicy` (policies.kyverno.io): CEL validations with autogen and exceptions.

A ValidatingPolicy has the shape of a ValidatingAdmissionPolicy
(matchConstraints, matchConditions, variables, validations with
message/messageExpression, auditAnnotations, validationActions) plus
Kyverno's data libraries (`resource`, `image`, ...), `autogen` for pod
controllers and `PolicyException`s (policies.kyverno.io) whose
matchConditions skip the policy. Its result is one per policy and resource,
with an empty rule name, as `kyverno test` scores it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from scanner.engines.cel.checks import ERROR, FAIL, PASS, SKIP, CelChecks, Violation, compile_checks, run_checks
from scanner.engines.cel.external import ExternalData
from scanner.engines.cel.matching import RequestTarget, constraints_match
from scanner.engines.cel.program import KYVERNO_VARIABLES
from scanner.engines.cel.request import (
    POD_CONTROLLER_TEMPLATES, UserInfo, admission_variables, namespace_object, pod_view,
)
from scanner.engines.kyverno.results import RuleResult
from scanner.errors import PolicyError
from scanner.engines.cel.values import as_map

VPOL_KINDS = ("ValidatingPolicy", "NamespacedValidatingPolicy")
VPOL_GROUP = "policies.kyverno.io/"
DEFAULT_CONTROLLERS = tuple(POD_CONTROLLER_TEMPLATES)


def is_validating_policy(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") in VPOL_KINDS and str(doc.get("apiVersion", "")).startswith(VPOL_GROUP)


def is_cel_exception(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "PolicyException" and str(doc.get("apiVersion", "")).startswith(VPOL_GROUP)


@dataclass(frozen=True)
class ValidatingPolicy:
    name: str
    namespace: str | None
    annotations: dict[str, Any]
    path: str
    line: int
    constraints: dict[str, Any]
    checks: CelChecks
    actions: tuple[str, ...]
    controllers: tuple[str, ...]  # pod controllers the policy also covers (autogen)
    json_mode: bool = False
    failure_policy: str = "Fail"
    kind: str = "ValidatingPolicy"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def action(self) -> str:
        return "Enforce" if "Deny" in self.actions else "Audit"

    @property
    def severity(self) -> str | None:
        value = self.annotations.get("policies.kyverno.io/severity")
        return str(value).strip().lower() if value else None

    @property
    def title(self) -> str | None:
        value = self.annotations.get("policies.kyverno.io/title")
        return str(value) if value else None


@dataclass(frozen=True)
class CelPolicyException:
    name: str
    namespace: str | None
    policies: tuple[str, ...]
    checks: CelChecks

    def covers(self, policy: ValidatingPolicy) -> bool:
        return policy.name in self.policies


def _matches_only_pods(constraints: dict[str, Any]) -> bool:
    rules = constraints.get("resourceRules") or []
    if not rules:
        return False
    return all(
        isinstance(r, dict) and [str(x) for x in r.get("resources") or []] == ["pods"]
        and [str(x) for x in r.get("apiGroups") or [""]] == [""]
        for r in rules
    )


def _controllers(spec: dict[str, Any], constraints: dict[str, Any]) -> tuple[str, ...]:
    autogen = as_map(spec.get("autogen"))
    pod_controllers = as_map(autogen.get("podControllers"))
    if not _matches_only_pods(constraints):
        return ()
    if pod_controllers is not None and "controllers" in pod_controllers:
        return tuple(str(c) for c in pod_controllers.get("controllers") or [] if str(c) in POD_CONTROLLER_TEMPLATES)
    return DEFAULT_CONTROLLERS


def build_validating_policy(doc: dict[str, Any], path: str, line: int = 1) -> ValidatingPolicy:
    """Compile one ValidatingPolicy; PolicyError names the policy, field and expression on any problem."""
    meta = as_map(doc.get("metadata"))
    spec = as_map(doc.get("spec"))
    name = str(meta.get("name") or "")
    if not name:
        raise PolicyError("ValidatingPolicy without metadata.name", path=path, line=line)
    where = f"ValidatingPolicy {name!r}"
    if not spec.get("validations"):
        raise PolicyError(f"{where}: spec.validations must list at least one validation", path=path, line=line)
    constraints = as_map(spec.get("matchConstraints"))
    evaluation = as_map(spec.get("evaluation"))
    mode = str(evaluation.get("mode") or "Kubernetes")
    if mode not in ("Kubernetes", "JSON"):
        raise PolicyError(f"{where}: evaluation.mode {mode} is an authorization policy for {mode} requests; cdgate "
                          "evaluates admission (Kubernetes) and JSON policies", path=path, line=line,
                          hint="keep authorization policies out of the gate's policy paths")
    json_mode = mode == "JSON"
    if not constraints and not json_mode:
        raise PolicyError(f"{where}: spec.matchConstraints is required", path=path, line=line,
                          hint="list the resources under matchConstraints.resourceRules")
    actions = tuple(str(a) for a in spec.get("validationActions") or ["Audit"])
    unknown = [a for a in actions if a not in ("Deny", "Warn", "Audit")]
    if unknown:
        raise PolicyError(f"{where}: unknown validationActions {unknown}", path=path, line=line, hint="use Deny, Warn or Audit")
    checks = compile_checks(spec, where, KYVERNO_VARIABLES, path, line=line)
    return ValidatingPolicy(
        name=name,
        namespace=str(meta["namespace"]) if doc.get("kind") == "NamespacedValidatingPolicy" and meta.get("namespace") else None,
        annotations=dict(meta.get("annotations") or {}),
        path=path,
        line=line,
        constraints=constraints,
        checks=checks,
        actions=actions,
        controllers=_controllers(spec, constraints),
        json_mode=json_mode,
        failure_policy=str(spec.get("failurePolicy") or "Fail"),
        kind=str(doc.get("kind")),
    )


def build_cel_exception(doc: dict[str, Any], path: str) -> CelPolicyException:
    meta = as_map(doc.get("metadata"))
    spec = as_map(doc.get("spec"))
    name = str(meta.get("name") or "")
    refs = tuple(str(r.get("name")) for r in spec.get("policyRefs") or [] if isinstance(r, dict) and r.get("name"))
    checks = compile_checks({"matchConditions": spec.get("matchConditions") or []}, f"PolicyException {name!r}",
                            KYVERNO_VARIABLES, path)
    return CelPolicyException(name, str(meta.get("namespace")) if meta.get("namespace") else None, refs, checks)


@dataclass
class CelRequest:
    """One object under review and everything around it that CEL may read."""

    obj: dict[str, Any]
    operation: str = "CREATE"
    user: UserInfo = field(default_factory=UserInfo)
    old_object: dict[str, Any] | None = None
    namespace_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    namespace_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: ExternalData | None = None
    # Built once per request and shared by every policy that reviews it.
    _variables: dict[bool, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _shared: dict[bool, dict[Any, Any]] = field(default_factory=dict, init=False, repr=False)

    @functools.cached_property
    def target(self) -> RequestTarget:
        """What matchConstraints see of this request."""
        meta = as_map(self.obj.get("metadata"))
        namespace = str(meta.get("namespace") or "")
        labels = self.namespace_labels.get(namespace)
        if labels is None and namespace in self.namespace_objects:
            labels = dict(as_map(as_map(self.namespace_objects[namespace].get("metadata")).get("labels")))
        return RequestTarget.of(self.obj, self.operation, labels)

    def shared(self, as_pod: bool) -> dict[Any, Any]:
        """A cache for `run_checks` over `variables(as_pod)` (its activation)."""
        return self._shared.setdefault(as_pod, {})

    def variables(self, as_pod: bool) -> dict[str, Any]:
        """The CEL variables for the object itself, or (`as_pod`) for its Pod template (autogen)."""
        found = self._variables.get(as_pod)
        if found is None:
            obj = (pod_view(self.obj) or self.obj) if as_pod else self.obj
            old = (pod_view(self.old_object) or self.old_object) if as_pod and self.old_object else self.old_object
            found = self._variables[as_pod] = _variables(self, obj, old)
        return found


def _variables(request: CelRequest, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    meta = as_map(request.obj.get("metadata"))
    namespace = str(meta.get("namespace") or "")
    found = request.namespace_objects.get(namespace) or namespace_object(namespace, request.namespace_labels.get(namespace))
    return admission_variables(request.obj, request.operation, request.user, obj, old, found)


@dataclass
class PolicyOutcome:
    """A ValidatingPolicy's verdict on one object: status, message and each violated validation."""

    status: str  # pass | fail | skip | error
    message: str = ""
    violations: list[Violation] = field(default_factory=list)
    error_ignored: bool = False  # skipped for an expression error under failurePolicy Ignore


def check_validating_policy(policy: ValidatingPolicy, request: CelRequest,
                            exceptions: list[CelPolicyException] | tuple[CelPolicyException, ...] = ()) -> PolicyOutcome | None:
    """The policy's verdict on `request.obj`, or None when it does not select the object."""
    obj = request.obj
    meta = as_map(obj.get("metadata"))
    if policy.namespace and str(meta.get("namespace") or "default") != policy.namespace:
        return None
    evaluated = obj
    if not policy.json_mode:
        target = request.target
        labels = target.namespace_labels
        if not constraints_match(policy.constraints, target):
            view = request.variables(as_pod=True)["object" if request.operation != "DELETE" else "oldObject"] \
                if str(obj.get("kind")) in policy.controllers and pod_view(obj) is not None else None
            if view is None:
                return None
            pod_target = RequestTarget("", "v1", "Pod", "pods", target.name, target.namespace, request.operation,
                                       dict(as_map(as_map(view.get("metadata")).get("labels"))), labels)
            if not constraints_match(policy.constraints, pod_target):
                return None
            evaluated = view
    as_pod = evaluated is not obj
    variables = request.variables(as_pod)
    shared = request.shared(as_pod)
    for exception in exceptions:
        if exception.covers(policy) and run_checks(exception.checks, variables, request.data, shared=shared).status == PASS:
            return PolicyOutcome(SKIP, f"rule skipped due to policy exception {exception.name}")
    outcome = run_checks(policy.checks, variables, request.data, shared=shared)
    if outcome.status == SKIP:
        return PolicyOutcome(SKIP, "match conditions not met")
    if outcome.status == ERROR:
        if policy.failure_policy == "Ignore":
            return PolicyOutcome(SKIP, f"ValidatingPolicy {policy.name!r} (failurePolicy Ignore): {outcome.error}",
                                 error_ignored=True)
        return PolicyOutcome(ERROR, f"ValidatingPolicy {policy.name!r}: {outcome.error}")
    if outcome.status == FAIL:
        return PolicyOutcome(FAIL, "; ".join(v.message for v in outcome.violations), outcome.violations)
    return PolicyOutcome(PASS, "success")


def evaluate_validating_policy(policy: ValidatingPolicy, request: CelRequest,
                               exceptions: list[CelPolicyException] | tuple[CelPolicyException, ...] = ()) -> RuleResult | None:
    """`check_validating_policy` as the rule result `kyverno test` scores (empty rule name)."""
    outcome = check_validating_policy(policy, request, exceptions)
    if outcome is None:
        return None
    return RuleResult(policy=policy.key, rule="", status=outcome.status, message=outcome.message, action=policy.action)
