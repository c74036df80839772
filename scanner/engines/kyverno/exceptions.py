"""PolicyExceptions (`kyverno.io/v2`, `v2beta1`): named rules skip matching resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scanner.engines.kyverno import wildcard
from scanner.engines.kyverno.conditions import ConditionError, evaluate_block
from scanner.engines.kyverno.matching import RequestInfo, ResourceView, rule_matches
from scanner.engines.kyverno.variables import VariableError
from scanner.engines.kyverno.yamlio import as_map

EXCEPTION_API_VERSIONS = ("kyverno.io/v2", "kyverno.io/v2beta1", "kyverno.io/v2alpha1")


@dataclass
class PolicyException:
    name: str
    namespace: str | None
    targets: list[tuple[str, list[str]]]  # (policy name, rule names)
    match: dict[str, Any]
    conditions: Any

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def covers(self, policy_key: str, rule_name: str) -> bool:
        for policy_name, rules in self.targets:
            if wildcard.match(policy_name, policy_key) and any(wildcard.match(r, rule_name) for r in rules):
                return True
        return False

    def applies(self, view: ResourceView, request: RequestInfo, data: Any) -> bool:
        if not rule_matches(self.match, view, request):
            return False
        if self.conditions is None:
            return True
        try:
            return evaluate_block(self.conditions, data, lenient=True)
        except (ConditionError, VariableError):
            return False


def is_exception(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "PolicyException" and doc.get("apiVersion") in EXCEPTION_API_VERSIONS


def build_exception(doc: dict[str, Any]) -> PolicyException:
    meta = as_map(doc.get("metadata"))
    spec = as_map(doc.get("spec"))
    targets = []
    for item in spec.get("exceptions") or []:
        if isinstance(item, dict) and item.get("policyName"):
            targets.append((str(item["policyName"]), [str(r) for r in item.get("ruleNames") or []]))
    return PolicyException(
        name=str(meta.get("name") or ""),
        namespace=str(meta["namespace"]) if meta.get("namespace") else None,
        targets=targets,
        match=spec.get("match") or {},
        conditions=spec.get("conditions"),
    )
