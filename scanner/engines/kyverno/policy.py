"""Kyverno policies as cdgate loads them: parsed, expanded and checked once.

`load_policy_documents` turns YAML files into `Policy` objects with their
autogen rules; `check_policy` rejects what Kyverno would reject (unknown
operators, malformed anchors, JMESPath that does not parse, variables that
name nothing) with a `PolicyError` that names the file, policy and rule.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from scanner.engines.cel.checks import CelChecks

from scanner.engines.kyverno import anchors, autogen
from scanner.engines.kyverno.conditions import condition_list
from scanner.engines.kyverno.operators import OPERATORS
from scanner.engines.kyverno.variables import VariableError, compile_expression, variables_in
from scanner.engines.kyverno.yamlio import load_all
from scanner.errors import PolicyError, yaml_error_details
from scanner.engines.kyverno.yamlio import as_map

POLICY_KINDS = ("ClusterPolicy", "Policy")
POLICY_API_VERSIONS = ("kyverno.io/v1", "kyverno.io/v2beta1", "kyverno.io/v2")
UNSUPPORTED_VALIDATE = ("manifests", "assert")
BUILTIN_ROOTS = {"request", "serviceAccountName", "serviceAccountNamespace", "images", "element", "elementIndex", "target", "@"}
_ELEMENT_ROOT = re.compile(r"^element(Index)?\d+$")


@dataclass
class Rule:
    """One validate rule (original or autogen) ready to evaluate."""

    name: str
    match: dict[str, Any]
    exclude: dict[str, Any] | None
    preconditions: Any
    context: list[dict[str, Any]]
    validate: dict[str, Any]
    action: str  # Audit | Enforce
    autogen_of: str | None = None
    autogen_template: str | None = None  # "spec.template" or "spec.jobTemplate.spec.template" for autogen rules
    cel: CelChecks | None = None  # compiled validate.cel
    action_overrides: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (action, namespace wildcards)

    def action_for(self, namespace: str) -> str:
        """Audit or Enforce for a resource in `namespace` (failureActionOverrides)."""
        from scanner.engines.kyverno.wildcard import match

        for action, namespaces in self.action_overrides:
            if any(match(ns, namespace) for ns in namespaces):
                return action
        return self.action

    @property
    def message(self) -> str:
        return str(self.validate.get("message") or "")

    @functools.cached_property
    def match_kinds(self) -> frozenset[str] | None:
        """Bare kinds the rule can match, for a fast reject; None when any kind can."""
        from scanner.engines.kyverno.matching import parse_kind
        from scanner.engines.kyverno.wildcard import has_wildcard

        blocks = [f for key in ("any", "all") for f in self.match.get(key) or [] if isinstance(f, dict)]
        if not blocks and isinstance(self.match.get("resources"), dict):
            blocks = [self.match]
        kinds: set[str] = set()
        for block in blocks:
            listed = (block.get("resources") or {}).get("kinds") or []
            if not listed:
                return None
            for selector in listed:
                kind = parse_kind(str(selector))[2]
                if has_wildcard(kind):
                    return None
                kinds.add(kind)
        return frozenset(kinds) if kinds else None


@dataclass
class Policy:
    """A ClusterPolicy or Policy with its validate rules."""

    name: str
    kind: str
    namespace: str | None
    annotations: dict[str, Any]
    rules: list[Rule]
    path: str
    line: int = 1
    background: bool = True
    apply_one: bool = False  # spec.applyRules: One - stop at the first rule that applies
    skipped_rules: list[str] = field(default_factory=list)  # mutate/generate/verifyImages

    @property
    def key(self) -> str:
        """How `kyverno test` names the policy: `ns/name` for a namespaced Policy."""
        return f"{self.namespace}/{self.name}" if self.kind == "Policy" and self.namespace else self.name

    @property
    def severity(self) -> str | None:
        value = self.annotations.get("policies.kyverno.io/severity")
        return str(value).strip().lower() if value else None

    @property
    def title(self) -> str | None:
        value = self.annotations.get("policies.kyverno.io/title")
        return str(value) if value else None


def _action(value: Any, default: str) -> str:
    if value is None:
        return default
    text = str(value).strip().lower()
    if text == "enforce":
        return "Enforce"
    if text == "audit":
        return "Audit"
    return default


def is_policy(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") in POLICY_KINDS and str(doc.get("apiVersion", "")).startswith("kyverno.io/")


def build_policy(doc: dict[str, Any], path: str, line: int = 1) -> Policy:
    from scanner.engines.kyverno.budget import resource_problem

    problem = resource_problem(doc, limit=100_000)
    if problem is not None:
        raise PolicyError(f"policy document: {problem.replace('resource', 'document', 1)}", path=path, line=line,
                          hint="remove recursive YAML aliases")
    meta = as_map(doc.get("metadata"))
    spec = as_map(doc.get("spec"))
    name = str(meta.get("name") or "")
    where = f"policy {name!r}" if name else "a policy without metadata.name"
    if not name:
        raise PolicyError(f"{where}: metadata.name is required", path=path, line=line)
    if doc.get("apiVersion") not in POLICY_API_VERSIONS:
        raise PolicyError(
            f"policy {name!r}: unsupported apiVersion {doc.get('apiVersion')!r}",
            path=path, line=line, hint="use kyverno.io/v1 or kyverno.io/v2beta1",
        )
    if not isinstance(spec.get("rules"), list) or not spec["rules"]:
        raise PolicyError(f"policy {name!r}: spec.rules must be a non-empty list", path=path, line=line)
    default_action = _action(spec.get("validationFailureAction"), "Audit")
    rules: list[Rule] = []
    skipped: list[str] = []
    for raw in autogen.expand(doc):
        rule_name = str(raw.get("name") or "")
        if not rule_name:
            raise PolicyError(f"policy {name!r}: every rule needs a name", path=path, line=line)
        validate = raw.get("validate")
        if not isinstance(validate, dict):
            skipped.append(rule_name)
            continue
        for key in UNSUPPORTED_VALIDATE:
            if key in validate:
                raise PolicyError(
                    f"policy {name!r} rule {rule_name!r}: validate.{key} is not supported by cdgate's Kyverno engine",
                    path=path, line=line, hint="use pattern, anyPattern, deny or foreach",
                )
        if not isinstance(raw.get("match"), dict):
            raise PolicyError(f"policy {name!r} rule {rule_name!r}: match is required", path=path, line=line)
        action = _action(validate.get("failureAction"), default_action)
        overrides = validate.get("failureActionOverrides") or spec.get("validationFailureActionOverrides") or []
        action_overrides = tuple(
            (_action(o.get("action"), action), tuple(str(n) for n in o.get("namespaces") or []))
            for o in overrides if isinstance(o, dict)
        )
        rules.append(
            Rule(
                name=rule_name,
                match=raw["match"],
                exclude=raw.get("exclude") if isinstance(raw.get("exclude"), dict) else None,
                preconditions=raw.get("preconditions"),
                context=[c for c in raw.get("context") or [] if isinstance(c, dict)],
                validate=validate,
                action=action,
                autogen_of=raw.get("_autogen_of"),
                autogen_template=raw.get("_autogen_template"),
                cel=_compile_cel(validate, raw.get("celPreconditions"), name, rule_name, path) if "cel" in validate else None,
                action_overrides=action_overrides,
            )
        )
    return Policy(
        name=name,
        kind=str(doc.get("kind")),
        namespace=str(meta["namespace"]) if meta.get("namespace") else None,
        annotations=dict(meta.get("annotations") or {}),
        rules=rules,
        path=path,
        line=line,
        background=bool(spec.get("background", True)),
        apply_one=str(spec.get("applyRules") or "All") == "One",
        skipped_rules=skipped,
    )


def _compile_cel(validate: dict[str, Any], preconditions: Any, policy: str, rule: str, path: str) -> CelChecks:
    """Compile a rule's `validate.cel` block (expressions, variables, auditAnnotations) and its
    `celPreconditions` (which act as matchConditions: false skips the rule)."""
    from scanner.engines.cel.checks import compile_checks
    from scanner.engines.cel.program import KYVERNO_VARIABLES

    block = validate.get("cel")
    if not isinstance(block, dict) or not block.get("expressions"):
        raise PolicyError(f"policy {policy!r} rule {rule!r}: validate.cel needs a list of expressions", path=path)
    if preconditions:
        block = {**block, "matchConditions": preconditions}
    return compile_checks(block, f"policy {policy!r} rule {rule!r} validate.cel", KYVERNO_VARIABLES, path,
                          validations_key="expressions")


# ---- load-time checks -----------------------------------------------------------


def _fail(policy: Policy, rule: Rule, message: str, hint: str | None = None) -> PolicyError:
    return PolicyError(f"policy {policy.name!r} rule {rule.name!r}: {message}", path=policy.path, line=policy.line, hint=hint)


def _check_anchor_keys(value: Any, policy: Policy, rule: Rule) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            if not isinstance(key, str):
                raise _fail(policy, rule, f"pattern key {key!r} is not a string")
            if anchors.looks_malformed(key):
                raise _fail(policy, rule, f"malformed anchor {key!r}", "anchors look like (key), =(key), ^(key), X(key), <(key) or +(key)")
            anchor = anchors.parse(key)
            if anchor is not None and anchor.kind == anchors.EXISTENCE and not isinstance(sub, list):
                raise _fail(policy, rule, f"existence anchor {key!r} needs a list pattern")
            _check_anchor_keys(sub, policy, rule)
    elif isinstance(value, list):
        for item in value:
            _check_anchor_keys(item, policy, rule)


def _roots(node: Any, at_root: bool = True) -> Iterable[str]:
    """Identifiers a JMESPath AST reads from the root of its input."""
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    children = node.get("children") or []
    if kind == "field":
        if at_root:
            value = node.get("value")
            if isinstance(value, str):
                yield value
        return
    if kind in ("subexpression", "index_expression", "projection", "value_projection", "flatten", "pipe"):
        for i, child in enumerate(children):
            yield from _roots(child, at_root if i == 0 else False)
        return
    if kind == "filter_projection":
        if children:
            yield from _roots(children[0], at_root)
        return
    if kind == "expref":
        return
    for child in children:
        yield from _roots(child, at_root)


def _unknown_functions(tree: Any) -> set[str]:
    """Names of functions called in a JMESPath AST that neither JMESPath nor Kyverno defines."""
    from scanner.engines.kyverno.jmes_functions import KyvernoFunctions

    known = KyvernoFunctions.FUNCTION_TABLE
    unknown: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("type") == "function_expression" and node.get("value") not in known:
            unknown.add(str(node.get("value")))
        stack.extend(node.get("children") or [])
    return unknown


def _context_names(entries: list[dict[str, Any]]) -> set[str]:
    return {str(e.get("name")) for e in entries if e.get("name")}


def _check_expression(expr: str, allowed: set[str], policy: Policy, rule: Rule, check_roots: bool) -> None:
    if expr == "@" or expr.startswith("@"):
        return
    try:
        compiled = compile_expression(expr)
    except VariableError as exc:
        raise _fail(policy, rule, str(exc)) from None
    unknown = sorted(_unknown_functions(compiled.parsed))
    if unknown:  # JMESPath only notices at evaluation, where a foreach list would silently skip
        raise _fail(policy, rule, f"unknown function {unknown[0]}() in {expr!r}",
                    "use a JMESPath or Kyverno function (see docs/kyverno.md)")
    if not check_roots:
        return
    for root in _roots(compiled.parsed):
        if not root or root in allowed or root in BUILTIN_ROOTS or _ELEMENT_ROOT.match(root):
            continue
        raise _fail(policy, rule, f"unknown variable {expr!r} ({root!r} is not a context entry or a Kyverno variable)",
                    "declare it under the rule's context or use request.*, element, images.*")


def _check_conditions(block: Any, policy: Policy, rule: Rule) -> None:
    if block is None:
        return
    if not isinstance(block, (list, dict)):
        raise _fail(policy, rule, "conditions must be a list or an any/all block")
    if isinstance(block, dict) and set(block) - {"any", "all"}:
        raise _fail(policy, rule, f"unknown condition block keys {sorted(set(block) - {'any', 'all'})}")
    for condition in condition_list(block):
        operator = condition.get("operator")
        if operator not in OPERATORS:
            raise _fail(policy, rule, f"unknown operator {operator!r}", "use one of " + ", ".join(sorted(OPERATORS)))


def _check_foreach(items: Any, policy: Policy, rule: Rule, allowed: set[str], check_roots: bool) -> None:
    if not isinstance(items, list):
        raise _fail(policy, rule, "foreach must be a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("list"), str):
            raise _fail(policy, rule, "every foreach entry needs a list expression")
        inner = allowed | _context_names(item.get("context") or [])
        _check_expression(item["list"].strip().strip("{}").strip() or "@", inner, policy, rule, check_roots)
        _check_conditions(item.get("preconditions"), policy, rule)
        if isinstance(item.get("deny"), dict):
            _check_conditions(item["deny"].get("conditions"), policy, rule)
        _check_anchor_keys(item.get("pattern"), policy, rule)
        _check_anchor_keys(item.get("anyPattern"), policy, rule)
        for expr in variables_in({k: v for k, v in item.items() if k != "foreach"}):
            _check_expression(expr, inner, policy, rule, check_roots)
        if item.get("foreach") is not None:
            _check_foreach(item["foreach"], policy, rule, inner, check_roots)


def _check_filters(block: Any, where: str, policy: Policy, rule: Rule) -> None:
    if not isinstance(block, dict):
        return
    filters = [f for key in ("any", "all") for f in block.get(key) or [] if isinstance(f, dict)]
    if any(k in block for k in ("resources",)):
        filters.append(block)
    for f in filters:
        if "resources" in f and (f["resources"] is None or f["resources"] == {}):
            raise _fail(policy, rule, f"{where}: an empty `resources: {{}}` filter is not allowed",
                        "name kinds, names, namespaces or selectors, or drop the resources key")


def check_policy(policy: Policy, extra_roots: Iterable[str] = (), check_roots: bool = True) -> None:
    """Raise PolicyError for the first thing Kyverno would refuse in `policy`."""
    for rule in policy.rules:
        _check_filters(rule.match, "match", policy, rule)
        _check_filters(rule.exclude, "exclude", policy, rule)
        allowed = _context_names(rule.context) | set(extra_roots)
        v = rule.validate
        kinds = [k for k in ("pattern", "anyPattern", "deny", "foreach", "podSecurity", "cel") if k in v]
        if not kinds:
            raise _fail(policy, rule, "validate needs one of pattern, anyPattern, deny, foreach, podSecurity or cel")
        if "podSecurity" in v:
            level = str((v["podSecurity"] or {}).get("level") or "")
            if level not in ("privileged", "baseline", "restricted"):
                raise _fail(policy, rule, f"podSecurity.level must be privileged, baseline or restricted, not {level!r}")
        if len(kinds) > 1:
            raise _fail(policy, rule, f"validate may only set one of {', '.join(kinds)}")
        _check_conditions(rule.preconditions, policy, rule)
        if "deny" in v:
            deny = v["deny"] if isinstance(v["deny"], dict) else {}
            _check_conditions(deny.get("conditions"), policy, rule)
        if "anyPattern" in v and not isinstance(v["anyPattern"], list):
            raise _fail(policy, rule, "anyPattern must be a list of patterns")
        _check_anchor_keys(v.get("pattern"), policy, rule)
        _check_anchor_keys(v.get("anyPattern"), policy, rule)
        for entry in rule.context:
            if not any(k in entry for k in ("variable", "configMap", "apiCall", "imageRegistry", "globalReference")):
                raise _fail(policy, rule, f"context entry {entry.get('name')!r} has no source")
        if "foreach" in v:
            _check_foreach(v["foreach"], policy, rule, allowed, check_roots)
        scope = {k: val for k, val in v.items() if k != "foreach"}
        for expr in variables_in([scope, rule.preconditions, rule.context]):
            _check_expression(expr, allowed, policy, rule, check_roots)


# ---- files ------------------------------------------------------------------------


def _document_lines(text: str) -> list[int]:
    """1-based start line of each YAML document in `text`."""
    lines = [1]
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("---"):
            lines.append(number + 1)
    return lines


def load_policy_file(path: Path, display: str | None = None) -> list[Policy]:
    """Every Kyverno policy in one YAML file (other documents are ignored)."""
    import yaml

    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file: {exc.strerror}", path=shown) from None
    try:
        docs = list(_load_with_index(text))
    except yaml.YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise PolicyError(f"invalid YAML: {problem}", path=shown, line=line, column=column) from None
    starts = _document_lines(text)
    policies = []
    for index, doc in docs:
        if is_policy(doc):
            line = starts[index] if index < len(starts) else 1
            policies.append(build_policy(doc, shown, line))
    return policies


def _load_with_index(text: str) -> Iterable[tuple[int, Any]]:
    import yaml

    from scanner.engines.kyverno.yamlio import KubeLoader

    for index, doc in enumerate(yaml.load_all(text, Loader=KubeLoader)):
        if doc is None:
            continue
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            for item in doc["items"]:
                yield index, item
            continue
        yield index, doc


def load_documents(text: str) -> list[Any]:
    return list(load_all(text))
