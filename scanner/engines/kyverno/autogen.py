"""Autogen: rules written for Pods also cover the controllers that make Pods.

Kyverno rewrites a Pod rule into `autogen-<rule>` for Deployments,
StatefulSets, DaemonSets, Jobs, ReplicaSets and ReplicationControllers
(pattern under `spec.template`, `request.object.spec` read from the
template) and `autogen-cronjob-<rule>` for CronJobs (under
`spec.jobTemplate.spec.template`). The annotation
`pod-policies.kyverno.io/autogen-controllers` narrows the list or turns it
off (`none`).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from scanner.engines.kyverno.matching import parse_kind
from scanner.engines.kyverno.yamlio import as_map

ANNOTATION = "pod-policies.kyverno.io/autogen-controllers"
DEFAULT_CONTROLLERS = ("DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob")

_REQUEST_PATH = re.compile(r"request\.(object|oldObject)\.(spec|metadata)\b")


def _kinds_of(match: Any) -> list[list[str]]:
    """The kinds lists of every resource description in a match/exclude block."""
    if not isinstance(match, dict):
        return []
    out = []
    for key in ("any", "all"):
        for f in match.get(key) or []:
            if isinstance(f, dict):
                out.append((f.get("resources") or {}).get("kinds") or [])
    if isinstance(match.get("resources"), dict):
        out.append(match["resources"].get("kinds") or [])
    return out


def _descriptions(match: Any) -> list[dict[str, Any]]:
    if not isinstance(match, dict):
        return []
    out = []
    for key in ("any", "all"):
        for f in match.get(key) or []:
            if isinstance(f, dict) and isinstance(f.get("resources"), dict):
                out.append(f["resources"])
    if isinstance(match.get("resources"), dict):
        out.append(match["resources"])
    return out


def _is_pod(kind: str) -> bool:
    return parse_kind(kind)[2] == "Pod" and not parse_kind(kind)[3]


def _contains_pod(kinds: list[str]) -> bool:
    return any(isinstance(k, str) and _is_pod(k) for k in kinds)


def _supported(rules: list[dict[str, Any]]) -> bool:
    needed = False
    for rule in rules:
        for block in (rule.get("match"), rule.get("exclude")):
            for desc in _descriptions(block):
                kinds = desc.get("kinds") or []
                if desc.get("name") or desc.get("names") or desc.get("selector") is not None or desc.get("annotations"):
                    return False
                if len(kinds) > 1 and _contains_pod(kinds):
                    return False
                needed = needed or _contains_pod(kinds)
    return needed


def controllers_for(policy: dict[str, Any]) -> list[str]:
    """The controller kinds a policy's Pod rules are copied to (maybe none)."""
    meta = as_map(policy.get("metadata"))
    annotations = meta.get("annotations") or {}
    rules = [r for r in as_map(policy.get("spec")).get("rules") or [] if isinstance(r, dict)]
    value = annotations.get(ANNOTATION)
    if value is not None:
        if str(value).strip().lower() == "none":
            return []
        return [c.strip() for c in str(value).split(",") if c.strip()]
    if not _supported(rules):
        return []
    return list(DEFAULT_CONTROLLERS)


def _rewrite_strings(value: Any, template: str) -> Any:
    if isinstance(value, str):
        if "request." not in value:
            return value
        return _REQUEST_PATH.sub(lambda m: f"request.{m.group(1)}.{template}.{m.group(2)}", value)
    if isinstance(value, dict):
        return {k: _rewrite_strings(v, template) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite_strings(v, template) for v in value]
    return value


def _set_kinds(block: Any, kinds: list[str]) -> Any:
    if not isinstance(block, dict):
        return block
    block = copy.deepcopy(block)
    for key in ("any", "all"):
        if block.get(key):
            for f in block[key]:
                if isinstance(f, dict):
                    resources = f.setdefault("resources", {})
                    if isinstance(resources, dict):
                        resources["kinds"] = list(kinds)
            return block
    if isinstance(block.get("resources"), dict):
        block["resources"]["kinds"] = list(kinds)
    return block


def _wrap(pattern: Any, wrapper: list[str]) -> Any:
    for key in reversed(wrapper):
        pattern = {key: pattern}
    return pattern


def _generate(rule: dict[str, Any], name: str, kinds: list[str], wrapper: list[str], template: str) -> dict[str, Any]:
    new = copy.deepcopy(rule)
    new["name"] = name
    new["match"] = _set_kinds(rule.get("match"), kinds)
    if rule.get("exclude"):
        exclude_kinds = [k for ks in _kinds_of(rule.get("exclude")) for k in ks]
        if exclude_kinds:
            new["exclude"] = _set_kinds(rule.get("exclude"), kinds)
    validate = new.get("validate")
    if isinstance(validate, dict):
        if "pattern" in validate:
            validate["pattern"] = _wrap(validate["pattern"], wrapper)
        if isinstance(validate.get("anyPattern"), list):
            validate["anyPattern"] = [_wrap(p, wrapper) for p in validate["anyPattern"]]
    for key in ("preconditions", "context", "validate"):
        if key in new:
            new[key] = _rewrite_strings(new[key], template)
    new["_autogen_of"] = rule.get("name")
    new["_autogen_template"] = template
    return new


def expand(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy's rules followed by their autogen copies."""
    spec = as_map(policy.get("spec"))
    rules = [r for r in spec.get("rules") or [] if isinstance(r, dict)]
    controllers = controllers_for(policy)
    if not controllers:
        return rules
    pod_controllers = [c for c in controllers if c != "CronJob"]
    out = list(rules)
    for rule in rules:
        name = str(rule.get("name") or "")
        if name.startswith("autogen-") or not isinstance(rule.get("validate"), dict):
            continue
        match_kinds = [k for ks in _kinds_of(rule.get("match")) for k in ks]
        exclude_kinds = [k for ks in _kinds_of(rule.get("exclude")) for k in ks]
        if not _contains_pod(match_kinds) or (exclude_kinds and not _contains_pod(exclude_kinds)):
            continue
        if pod_controllers:
            out.append(_generate(rule, f"autogen-{name}", pod_controllers, ["spec", "template"], "spec.template"))
        if "CronJob" in controllers:
            out.append(
                _generate(
                    rule,
                    f"autogen-cronjob-{name}",
                    ["CronJob"],
                    ["spec", "jobTemplate", "spec", "template"],
                    "spec.jobTemplate.spec.template",
                )
            )
    return out
