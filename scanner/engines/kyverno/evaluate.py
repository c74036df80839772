"""Evaluate validate rules on one resource: match, exceptions, context,
preconditions, then deny / pattern / anyPattern / foreach.

The statuses and their precedence follow Kyverno's validation handler:
preconditions that do not hold skip; anchors that do not apply skip; in
foreach a failing element fails the rule, elements that skip are passed
over, and a rule whose elements all skip is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scanner.engines.kyverno.budget import Budget, EvaluationLimit
from scanner.engines.kyverno.conditions import ConditionError, evaluate_block
from scanner.engines.kyverno.context import RuleFailure, apply_values, load_context
from scanner.engines.kyverno.exceptions import PolicyException
from scanner.engines.kyverno.foreach import ElementScopeError, bind_element, is_scoped, list_elements
from scanner.engines.kyverno.images import extract_images
from scanner.engines.kyverno.matching import RequestInfo, ResourceView, rule_excludes, rule_matches
from scanner.engines.kyverno.patterns import PatternOutcome, match_pattern
from scanner.engines.kyverno.policy import Policy, Rule
from scanner.engines.kyverno.results import ERROR, FAIL, PASS, SKIP, RuleResult
from scanner.engines.kyverno.variables import VariableError, substitute
from scanner.engines.kyverno.yamlio import as_map

if TYPE_CHECKING:
    from scanner.engines.cel.external import ExternalData


@dataclass
class EvalInputs:
    """Everything outside the policy that a rule may read."""

    request: RequestInfo = field(default_factory=RequestInfo)
    namespace_labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # dotted name -> value (global)
    rule_values: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (policy, rule)
    resource_values: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (policy, resource)
    config_maps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (ns, name)
    exceptions: list[PolicyException] = field(default_factory=list)
    old_object: dict[str, Any] | None = None
    seconds: float = 2.0
    cel_data: ExternalData | None = None  # for Kyverno's CEL data libraries and globalReference
    cel_cache: dict[Any, Any] = field(default_factory=dict)  # CEL variables/activations per resource view
    namespace_objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # values-file `namespaces:`
    cel_params: list[dict[str, Any]] = field(default_factory=list)  # params objects for validate.cel paramRef


def base_context(obj: dict[str, Any], inputs: EvalInputs, old: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JMESPath context every rule starts from: `request.*`, `images`,
    `serviceAccountName`/`serviceAccountNamespace`. On DELETE the resource is
    `request.oldObject` and `request.object` is null, as in admission."""
    request = inputs.request
    meta = as_map(obj.get("metadata"))
    is_delete = request.operation == "DELETE"
    req: dict[str, Any] = {
        "operation": request.operation,
        "object": None if is_delete else obj,
        "oldObject": obj if is_delete else old,
        "userInfo": {"username": request.username, "groups": list(request.groups)},
        "roles": list(request.roles),
        "clusterRoles": list(request.cluster_roles),
        "namespace": meta.get("namespace") or "",
        "name": meta.get("name") or "",
        "kind": {"kind": obj.get("kind")},
    }
    data: dict[str, Any] = {"request": req, "images": extract_images(obj)}
    if request.username.startswith("system:serviceaccount:"):
        parts = request.username.split(":")
        if len(parts) >= 4:
            data["serviceAccountNamespace"] = parts[2]
            data["serviceAccountName"] = parts[3]
    return data


def _message(rule: Rule, data: dict[str, Any], budget: Budget) -> str:
    raw = rule.message
    if not raw:
        return ""
    try:
        value = substitute(raw, data, budget=budget)
    except VariableError:
        return raw
    return value if isinstance(value, str) else raw


@dataclass
class _Verdict:
    status: str
    message: str = ""
    path: tuple[str | int, ...] | None = None
    error_denies: bool = False


class RuleRunner:
    """Runs one rule's validate block against a resource (and its foreach elements)."""

    def __init__(self, rule: Rule, inputs: EvalInputs, budget: Budget, provided: set[str], resource: dict[str, Any]):
        self.rule = rule
        self.inputs = inputs
        self.budget = budget
        self.provided = provided
        self.resource = resource

    def run(self, data: dict[str, Any]) -> _Verdict | None:
        return self._validate(self.rule.validate, data, None, 0, top=True)

    def _validate(self, spec: dict[str, Any], data: dict[str, Any], element: Any, nesting: int, top: bool) -> _Verdict | None:
        if not top:
            load_context([c for c in spec.get("context") or [] if isinstance(c, dict)], data, self.inputs, self.provided, self.budget)
            try:
                if not evaluate_block(spec.get("preconditions"), data, lenient=True, budget=self.budget):
                    return _Verdict(SKIP, "preconditions not met")
            except (ConditionError, VariableError) as exc:
                return _Verdict(ERROR, f"failed to evaluate preconditions: {exc}")
        if "deny" in spec:
            return self._deny(spec.get("deny") or {}, data)
        if "pattern" in spec or "anyPattern" in spec:
            return self._patterns(spec, data, element)
        if "foreach" in spec:
            return self._foreach(spec["foreach"] or [], data, element, nesting)
        if "podSecurity" in spec and top:
            return self._pod_security(spec["podSecurity"] or {})
        if self.rule.cel is not None and top:
            return self._cel()
        return None

    def _cel_variables(self) -> dict[str, Any]:
        """object, oldObject, request and namespaceObject for this resource (its Pod template for autogen)."""
        from scanner.engines.cel.request import UserInfo, admission_variables, namespace_object, pod_view

        request = self.inputs.request
        obj = self.resource
        old = self.inputs.old_object
        if self.rule.autogen_template:
            obj = pod_view(obj) or obj
            old = pod_view(old) if old else None
        meta = as_map(self.resource.get("metadata"))
        namespace = str(meta.get("namespace") or "")
        namespace_view = namespace_object(namespace, self.inputs.namespace_labels.get(namespace))
        user = UserInfo(request.username, tuple(request.groups))
        return admission_variables(self.resource, request.operation, user, obj, old, namespace_view)

    def _cel_params(self, namespace: str) -> dict[str, Any] | None | str:
        """validate.cel `paramKind`/`paramRef`: the params object, None without paramKind, or an error text."""
        from scanner.engines.cel.vap import select_params

        block = as_map(self.rule.validate.get("cel"))
        kind = as_map(block.get("paramKind"))
        if not kind:
            return None
        ref = as_map(block.get("paramRef"))
        found = select_params((str(kind.get("apiVersion") or ""), str(kind.get("kind") or "")), ref,
                              namespace or "default", self.inputs.cel_params, f"rule {self.rule.name!r}")
        return found if isinstance(found, str) else found[0]

    def _cel(self) -> _Verdict | None:
        """`validate.cel`: the rule's CEL expressions on the resource (its Pod template for autogen rules)."""
        from scanner.engines.cel.checks import run_checks

        assert self.rule.cel is not None
        request = self.inputs.request
        key = (id(self.resource), self.rule.autogen_template is not None, request.operation, request.username,
               request.groups, id(self.inputs.old_object))
        cached = self.inputs.cel_cache.get(key)
        if cached is None or cached[0] is not self.resource:
            cached = (self.resource, self._cel_variables(), {})
            self.inputs.cel_cache[key] = cached
        _resource, data, shared = cached
        params = self._cel_params(str(as_map(self.resource.get("metadata")).get("namespace") or ""))
        if isinstance(params, str):
            action = str(as_map(as_map(self.rule.validate.get("cel")).get("paramRef")).get("parameterNotFoundAction") or "Deny")
            if action == "Allow":
                return _Verdict(PASS, f"validation rule '{self.rule.name}' passed: {params} (parameterNotFoundAction Allow)")
            return _Verdict(ERROR, f"rule {self.rule.name}: {params} (parameterNotFoundAction Deny)", error_denies=True)
        if params is not None:
            data, shared = {**data, "params": params}, {}
        outcome = run_checks(self.rule.cel, data, self.inputs.cel_data, shared=shared)
        if outcome.status == SKIP:
            return _Verdict(SKIP, "match conditions not met")
        if outcome.status == ERROR:
            # Kyverno runs validate.cel through Kubernetes' validator: with its default failurePolicy
            # (Fail) an expression error denies the request; never a pass.
            return _Verdict(ERROR, f"rule {self.rule.name}: CEL expression failed: {outcome.error}", error_denies=True)
        if outcome.status == FAIL:
            return _Verdict(FAIL, "; ".join(v.message for v in outcome.violations))
        return _Verdict(PASS, f"validation rule '{self.rule.name}' passed.")

    def _pod_security(self, spec: dict[str, Any]) -> _Verdict | None:
        from scanner.engines.kyverno import podsecurity

        outcome = podsecurity.evaluate(spec, self.resource)
        if outcome is None:
            return None
        passed, violations = outcome
        level = f"{spec.get('level') or 'baseline'}:{spec.get('version') or 'latest'}"
        if passed:
            return _Verdict(PASS, f"validation rule '{self.rule.name}' passed.")
        detail = "; ".join(v.describe() for v in violations[:10])
        return _Verdict(FAIL, f"Validation rule '{self.rule.name}' failed. It violates PodSecurity \"{level}\": {detail}")

    def _deny(self, deny: dict[str, Any], data: dict[str, Any]) -> _Verdict:
        try:
            denied = evaluate_block(deny.get("conditions"), data, lenient=False, budget=self.budget)
        except (ConditionError, VariableError) as exc:
            return _Verdict(ERROR, f"failed to check deny conditions: {exc}")
        if denied:
            msg = _message(self.rule, data, self.budget) or f"validation error: rule {self.rule.name} failed"
            return _Verdict(FAIL, msg)
        return _Verdict(PASS, f"validation rule '{self.rule.name}' passed.")

    def _target(self, element: Any) -> Any:
        if element is not None:
            return element
        if self.inputs.request.operation == "DELETE":
            return None
        return self.resource

    def _absolute(self, target: Any, path: tuple[str | int, ...] | None) -> tuple[str | int, ...] | None:
        """A path inside a foreach element, made relative to the whole resource."""
        if path is None or target is self.resource:
            return path
        prefix = _locate(self.resource, target)
        return None if prefix is None else prefix + path

    def _patterns(self, spec: dict[str, Any], data: dict[str, Any], element: Any) -> _Verdict | None:
        verdict = self._patterns_raw(spec, data, element)
        if verdict is not None and verdict.path is not None:
            verdict.path = self._absolute(self._target(element), verdict.path)
        return verdict

    def _patterns_raw(self, spec: dict[str, Any], data: dict[str, Any], element: Any) -> _Verdict | None:
        target = self._target(element)
        try:
            if "pattern" in spec:
                pattern = substitute(spec["pattern"], data, budget=self.budget)
                if target is None:
                    return None
                return self._single(match_pattern(target, pattern, self.budget), data)
            any_patterns = substitute(spec["anyPattern"], data, budget=self.budget)
        except VariableError as exc:
            return _Verdict(ERROR, f"variable substitution failed: {exc}")
        if target is None:
            return None
        if not isinstance(any_patterns, list):
            return _Verdict(ERROR, "failed to deserialize anyPattern, expected type array")
        failed: list[str] = []
        skipped: list[str] = []
        first_path: tuple[str | int, ...] | None = None
        for idx, pattern in enumerate(any_patterns):
            outcome = match_pattern(target, pattern, self.budget)
            if outcome.status == PASS:
                return _Verdict(PASS, f"validation rule '{self.rule.name}' anyPattern[{idx}] passed.")
            if outcome.status == SKIP:
                skipped.append(f"rule {self.rule.name}[{idx}] skipped: {outcome.message}")
            elif outcome.status == FAIL:
                failed.append(f"rule {self.rule.name}[{idx}] failed at path {outcome.path}")
                first_path = first_path or outcome.json_path()
            else:
                failed.append(f"rule {self.rule.name}[{idx}] failed: {outcome.message}")
        if skipped and not failed:
            return _Verdict(SKIP, " ".join(skipped))
        if failed:
            msg = _message(self.rule, data, self.budget)
            detail = " ".join(failed)
            if not msg:
                text = f"validation error: {detail}"
            elif msg.endswith("."):
                text = f"validation error: {msg} {detail}"
            else:
                text = f"validation error: {msg}. {detail}"
            return _Verdict(FAIL, text, first_path)
        return _Verdict(PASS, self.rule.message)

    def _single(self, outcome: PatternOutcome, data: dict[str, Any]) -> _Verdict:
        if outcome.status == PASS:
            return _Verdict(PASS, f"validation rule '{self.rule.name}' passed.")
        if outcome.status == SKIP:
            return _Verdict(SKIP, outcome.message)
        msg = _message(self.rule, data, self.budget)
        prefix = f"validation error: {msg if msg.endswith('.') or not msg else msg + '.'} " if msg else "validation error: "
        if outcome.status == FAIL:
            return _Verdict(FAIL, f"{prefix}rule {self.rule.name} failed at path {outcome.path}", outcome.json_path())
        return _Verdict(ERROR, f"{prefix}rule {self.rule.name} execution error: {outcome.message}")

    def _foreach(self, items: list[dict[str, Any]], data: dict[str, Any], element: Any, nesting: int) -> _Verdict | None:
        applied = 0
        for item in items:
            elements = list_elements(str(item.get("list") or ""), data, self.budget)
            if elements is None:
                continue
            verdict, count = self._elements(item, elements, data, element, nesting)
            if verdict.status != PASS:
                return verdict
            applied += count
        if applied == 0:
            return _Verdict(SKIP, "rule skipped")
        return _Verdict(PASS, "rule passed")

    def _elements(self, item: dict[str, Any], elements: list[Any], data: dict[str, Any], element: Any,
                  nesting: int) -> tuple[_Verdict, int]:
        applied = 0
        for index, value in enumerate(elements):
            if value is None:
                continue
            self.budget.charge()
            try:
                scoped = is_scoped(value, item.get("elementScope"))
            except ElementScopeError as exc:
                return _Verdict(ERROR, f"failed to process foreach: {exc}"), applied
            child = bind_element(data, value, index, nesting)
            try:
                verdict = self._validate(item, child, value if scoped else element, nesting + 1, top=False)
            except RuleFailure as exc:
                verdict = _Verdict(ERROR, str(exc))
            if verdict is None or verdict.status == SKIP:
                continue
            if verdict.status != PASS:
                if verdict.status == ERROR and index < len(elements) - 1:
                    continue  # Kyverno only reports an element error on the last element
                return _Verdict(verdict.status, f"validation failure: {verdict.message}", verdict.path), applied
            applied += 1
        return _Verdict(PASS, ""), applied


def _locate(root: Any, target: Any, limit: int = 100_000) -> tuple[str | int, ...] | None:
    """The path of the object `target` (by identity) inside `root`, if it is there."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    seen = 0
    while stack and seen < limit:
        node, path = stack.pop()
        seen += 1
        if node is target:
            return path
        if isinstance(node, dict):
            stack.extend((v, path + (k,)) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(node) if isinstance(v, (dict, list)))
    return None


def _values_for(policy: Policy, rule: Rule, obj: dict[str, Any], inputs: EvalInputs) -> dict[str, Any]:
    merged = dict(inputs.values)
    name = str(as_map(obj.get("metadata")).get("name") or "")
    for key in (policy.name, policy.key):
        merged.update(inputs.resource_values.get((key, name), {}))
        merged.update(inputs.rule_values.get((key, rule.name), {}))
        if rule.autogen_of:
            merged.update(inputs.rule_values.get((key, rule.autogen_of), {}))
    return merged


def evaluate_rule(policy: Policy, rule: Rule, obj: dict[str, Any], view: ResourceView, inputs: EvalInputs,
                  budget: Budget, base: dict[str, Any]) -> RuleResult | None:
    """The rule's result on `obj`, or None when the rule does not apply to it."""
    request = inputs.request
    kinds = rule.match_kinds
    if kinds is not None and view.kind not in kinds:
        return None
    if not rule_matches(rule.match, view, request):
        return None
    result = RuleResult(policy=policy.key, rule=rule.name, status=PASS, action=rule.action_for(view.namespace),
                        autogen_of=rule.autogen_of)
    if rule_excludes(rule.exclude, view, request):
        result.status, result.message = SKIP, "resource excluded by the rule's exclude block"
        return result
    values = _values_for(policy, rule, obj, inputs)
    data = dict(base)
    data["request"] = dict(base["request"])
    if values:
        data = _deep_copy_top(data)
        apply_values(data, values)
    for exception in inputs.exceptions:
        if exception.covers(policy.key, rule.name) and exception.applies(view, request, data):
            result.status = SKIP
            result.message = f"rule skipped due to policy exception {exception.key}"
            return result
    provided = _provided_names(values)
    try:
        load_context(rule.context, data, inputs, provided, budget)
        try:
            if not evaluate_block(rule.preconditions, data, lenient=True, budget=budget):
                result.status, result.message = SKIP, "preconditions not met"
                return result
        except (ConditionError, VariableError) as exc:
            result.status, result.message = ERROR, f"failed to evaluate preconditions: {exc}"
            return result
        verdict = RuleRunner(rule, inputs, budget, provided, obj).run(data)
    except RuleFailure as exc:
        result.status, result.message = ERROR, str(exc)
        return result
    if verdict is None:
        return None
    result.status, result.message, result.path = verdict.status, verdict.message, verdict.path
    result.error_denies = verdict.error_denies
    return result


def _provided_names(values: dict[str, Any]) -> set[str]:
    """Context names a values file already set (`varA` for `varA.data.x`)."""
    names = set(values)
    for name in values:
        parts = name.split(".")
        for end in range(1, len(parts)):
            names.add(".".join(parts[:end]))
    return names


def _deep_copy_top(data: dict[str, Any]) -> dict[str, Any]:
    """Copy the maps that values files write into, never the resource itself."""
    out = dict(data)
    out["request"] = dict(data.get("request") or {})
    return out


def evaluate_policy(policy: Policy, obj: dict[str, Any], inputs: EvalInputs,
                    base: dict[str, Any] | None = None, view: ResourceView | None = None) -> list[RuleResult]:
    """Every rule of `policy` that applies to `obj`, in rule order."""
    if policy.kind == "Policy" and policy.namespace:
        meta = as_map(obj.get("metadata"))
        if (meta.get("namespace") or "default") != policy.namespace:
            return []
    if view is None:
        meta = as_map(obj.get("metadata"))
        view = ResourceView.of(obj, inputs.namespace_labels.get(str(meta.get("namespace") or ""), {}))
    if base is None:
        base = base_context(obj, inputs, inputs.old_object)
    out = []
    for rule in policy.rules:
        budget = Budget(seconds=inputs.seconds)
        try:
            result = evaluate_rule(policy, rule, obj, view, inputs, budget, base)
        except EvaluationLimit as exc:
            result = RuleResult(policy.key, rule.name, ERROR, f"evaluation stopped: {exc}", action=rule.action,
                                autogen_of=rule.autogen_of)
        except RecursionError:
            result = RuleResult(policy.key, rule.name, ERROR, "evaluation stopped: structure nested too deeply",
                                action=rule.action, autogen_of=rule.autogen_of)
        except Exception as exc:  # noqa: BLE001 - fail closed: an engine fault is an error, never a pass
            result = RuleResult(policy.key, rule.name, ERROR,
                                f"internal engine error ({type(exc).__name__}: {exc}); please report it",
                                action=rule.action, autogen_of=rule.autogen_of)
        if result is not None:
            out.append(result)
            if policy.apply_one:
                break
    return out
