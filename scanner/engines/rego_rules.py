"""Which rules of a policy set produce results, found the way the engine parses them.

conftest evaluates every rule whose name matches `^(deny|violation|warn)(_[a-zA-Z0-9]+)*$`
(`deny`, `deny_run_as_root`, `warn_latest_tag`...) and drops the results of
`deny_<name>` / `violation_<name>` / `warn_<name>` for an input when the
package's `exception` set holds an array containing `<name>`. Rule heads are
read from regorus' own parse of the policies (`get_ast_as_json`), so a
comment, a string or an unusual layout can neither hide a rule nor invent one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

#: conftest's result rule names.
RESULT_RULE = re.compile(r"^(deny|violation|warn)(_[a-zA-Z0-9]+)*$")
EXCEPTION_RULE = "exception"
REPO_MODE_RULE = "input_mode"
_PREFIX = re.compile(r"^(deny|violation|warn)_")


@dataclass
class PackageRules:
    """One package's result rules, whether it has conftest exceptions, and its mode."""

    name: str  # dotted, without `data.`
    path: str  # first file declaring it
    rules: list[str] = field(default_factory=list)  # in first-seen order
    has_exceptions: bool = False
    repo_mode: bool = False
    files: set[str] = field(default_factory=set)


def is_warning(rule: str) -> bool:
    return rule == "warn" or rule.startswith("warn_")


def exception_name(rule: str) -> str | None:
    """`deny_run_as_root` -> `run_as_root` (what an `exception` entry names); None for `deny`."""
    match = _PREFIX.match(rule)
    return rule[match.end():] if match else None


def collect_rules(policies: dict[str, str]) -> list[PackageRules]:
    """Every package with its conftest result rules, from regorus' AST (sorted by name).

    Raises what `regorus.Engine.add_policy` raises for a syntax error; the
    caller has already checked the sources.
    """
    import regorus  # no stubs published

    scratch = regorus.Engine()
    for path, text in policies.items():
        scratch.add_policy(path, text)
    return rules_of_engine(scratch)


def rules_of_engine(engine: Any) -> list[PackageRules]:
    """`collect_rules` for the policies already added to a regorus engine (no second parse)."""
    modules: list[dict[str, Any]] = json.loads(engine.get_ast_as_json())
    packages: dict[str, PackageRules] = {}
    for module in modules:
        ast = module.get("ast") or {}
        name = _dotted((ast.get("package") or {}).get("refr"))
        if name is None:
            continue
        path = str((module.get("source") or {}).get("file", ""))
        package = packages.setdefault(name, PackageRules(name, path))
        package.files.add(path)
        for rule in ast.get("rules") or []:
            kind, head = _head(rule)
            if head is None or kind == "Func":
                continue
            rule_name = _dotted(head.get("refr"))
            if rule_name is None:
                continue
            if RESULT_RULE.match(rule_name) and rule_name not in package.rules:
                package.rules.append(rule_name)
            elif rule_name == EXCEPTION_RULE:
                package.has_exceptions = True
            elif rule_name == REPO_MODE_RULE and _assigns_string(head, "repo"):
                package.repo_mode = True
    return [packages[name] for name in sorted(packages)]


def _head(rule: Any) -> tuple[str | None, dict[str, Any] | None]:
    spec = rule.get("Spec") if isinstance(rule, dict) else None
    heads = spec.get("head") if isinstance(spec, dict) else None
    if not isinstance(heads, dict):
        return None, None
    for kind, head in heads.items():
        if isinstance(head, dict):
            return kind, head
    return None, None


def _dotted(ref: Any) -> str | None:
    """`Var` / `RefDot` chains as `a.b.c`; None for anything else (`deny[x]` refs, calls)."""
    if not isinstance(ref, dict):
        return None
    var = ref.get("Var")
    if isinstance(var, dict) and isinstance(var.get("value"), str):
        return str(var["value"])
    dot = ref.get("RefDot")
    if isinstance(dot, dict):
        parent = _dotted(dot.get("refr"))
        fields = dot.get("field")
        if parent is not None and isinstance(fields, list) and len(fields) == 2 and isinstance(fields[1], str):
            return f"{parent}.{fields[1]}"
    return None


def _assigns_string(head: dict[str, Any], value: str) -> bool:
    assign = head.get("assign")
    assigned = assign.get("value") if isinstance(assign, dict) else None
    string = assigned.get("String") if isinstance(assigned, dict) else None
    return isinstance(string, dict) and string.get("value") == value
