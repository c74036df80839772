"""cdgate's Kyverno engine: Kyverno `validate` rules evaluated in Python.

`load_policies` reads ClusterPolicies and Policies (compiling and checking
them once); `KyvernoPolicySet.evaluate` runs them on documents and returns
raw results for the gate. `testfile.run_suite` runs Kyverno CLI test suites.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from scanner.engines.base import EvaluationRequest, Level, RawResult
from scanner.engines.kyverno.budget import resource_problem
from scanner.engines.kyverno.yamlio import as_map
from scanner.engines.kyverno.evaluate import EvalInputs, base_context, evaluate_policy
from scanner.engines.kyverno.exceptions import PolicyException, build_exception, is_exception
from scanner.engines.kyverno.matching import RequestInfo, ResourceView
from scanner.engines.kyverno.policy import Policy, check_policy, load_policy_file
from scanner.engines.kyverno.results import ERROR, FAIL, PASS, SKIP, WARN, RuleResult
from scanner.errors import PolicyError
from scanner.inputs.document import Document, format_json_path
from scanner.profile import Profile

if TYPE_CHECKING:
    from scanner.engines.cel.external import ExternalData

__all__ = ["KyvernoEngine", "KyvernoPolicySet", "compile_for_profile", "load_policies", "Policy", "RuleResult", "PASS", "FAIL", "SKIP", "ERROR", "WARN"]

ENGINE = "kyverno"
BUNDLED_KYVERNO_DIR = Path(__file__).resolve().parents[3] / "policies" / "kyverno"


def _policy_files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.suffix in (".yaml", ".yml") and not p.name.startswith("kyverno-test")
                and ".kyverno-test" not in p.parts and ".chainsaw-test" not in p.parts and p.is_file()
            )
        elif path.is_file():
            files.append(path)
        else:
            raise PolicyError("Kyverno policy path not found", path=str(raw), hint="check kyverno.policies in gate.yaml")
    return files


def load_policies(paths: Sequence[str | Path]) -> KyvernoPolicySet:
    """Load, autogen-expand and check every Kyverno policy under `paths`.

    Raises PolicyError naming the file, policy and rule for anything Kyverno
    would reject (unknown operator, malformed anchor, bad JMESPath, unknown
    variable). PolicyExceptions found in the same files are kept too.
    """
    import yaml

    from scanner.engines.kyverno.yamlio import KubeLoader

    policies: list[Policy] = []
    exceptions: list[PolicyException] = []
    for path in _policy_files(paths):
        loaded = load_policy_file(path)
        for policy in loaded:
            check_policy(policy)
        policies.extend(loaded)
        try:
            for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=KubeLoader):
                if is_exception(doc):
                    exceptions.append(build_exception(doc))
        except yaml.YAMLError:
            pass  # load_policy_file already reported YAML errors
    seen: dict[str, str] = {}
    for policy in policies:
        if policy.key in seen and seen[policy.key] != policy.path:
            raise PolicyError(f"policy {policy.key!r} is defined twice (also in {seen[policy.key]})", path=policy.path, line=policy.line)
        seen[policy.key] = policy.path
    return KyvernoPolicySet(policies, exceptions)


class KyvernoPolicySet:
    """Compiled Kyverno policies, ready to evaluate many documents."""

    def __init__(self, policies: list[Policy], exceptions: list[PolicyException] | None = None,
                 seconds_per_rule: float = 2.0) -> None:
        self.policies = policies
        self.exceptions = exceptions or []
        self.seconds_per_rule = seconds_per_rule
        self.cel_data: ExternalData | None = None  # ExternalData for validate.cel's resource/image libraries (gate.yaml cel.data)
        self.cel_params: list[dict[str, Any]] = []  # params objects for validate.cel paramRef (gate.yaml cel.params)

    @property
    def rule_count(self) -> int:
        return sum(len(p.rules) for p in self.policies)

    def describe(self) -> list[dict[str, str | None]]:
        """One entry per rule (autogen included), for the rule catalogue and reports."""
        out: list[dict[str, str | None]] = []
        for policy in self.policies:
            for rule in policy.rules:
                out.append({
                    "rule_id": f"kyverno:{policy.name}/{rule.name}",
                    "policy": policy.name,
                    "rule": rule.name,
                    "autogen_of": rule.autogen_of,
                    "title": policy.title,
                    "severity": policy.severity,
                    "category": policy.annotations.get("policies.kyverno.io/category"),
                    "description": policy.annotations.get("policies.kyverno.io/description"),
                    "message": rule.message or None,
                    "action": rule.action,
                    "path": policy.path,
                })
        return out

    def results(self, obj: dict[str, Any], operation: str | RequestInfo = "CREATE",
                namespace_labels: dict[str, dict[str, Any]] | None = None,
                old_object: dict[str, Any] | None = None) -> list[tuple[Policy, RuleResult]]:
        """Every rule result (pass and skip included) for one resource object.

        `old_object` is the object before an UPDATE (`request.oldObject`), as
        the admission webhook passes it.
        """
        if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
            return []  # not a Kubernetes resource: nothing for Kyverno to say
        problem = resource_problem(obj)
        if problem is not None:
            kind = obj["kind"]
            return [
                (policy, RuleResult(policy.key, rule.name, ERROR, problem, action=rule.action, autogen_of=rule.autogen_of))
                for policy in self.policies
                for rule in policy.rules
                if rule.match_kinds is None or kind in rule.match_kinds
            ]
        request = operation if isinstance(operation, RequestInfo) else RequestInfo(operation=operation)
        inputs = EvalInputs(request=request, exceptions=self.exceptions,
                            namespace_labels=namespace_labels or {}, seconds=self.seconds_per_rule,
                            old_object=old_object, cel_data=self.cel_data, cel_params=self.cel_params)
        meta = as_map(obj.get("metadata"))
        view = ResourceView.of(obj, inputs.namespace_labels.get(str(meta.get("namespace") or ""), {}))
        base = base_context(obj, inputs, old_object)
        out = []
        for policy in self.policies:
            for result in evaluate_policy(policy, obj, inputs, base, view):
                out.append((policy, result))
        return out

    def evaluate(self, documents: Sequence[Document], operation: str = "CREATE") -> list[RawResult]:
        """Fail, warn and error results for the gate (passes and skips are dropped)."""
        raw: list[RawResult] = []
        for document in documents:
            if not document.is_resource:
                continue
            for policy, result in self.results(document.obj, operation):
                converted = to_raw(policy, result, document)
                if converted is not None:
                    raw.append(converted)
        return raw


def to_raw(policy: Policy, result: RuleResult, document: Document | None) -> RawResult | None:
    scored = str(policy.annotations.get("policies.kyverno.io/scored", "")).lower() != "false"
    if result.status == FAIL:
        level = Level.DENY if scored else Level.WARN
    elif result.status == WARN:
        level = Level.WARN
    elif result.status == ERROR:
        level = Level.ERROR
    else:
        return None
    json_path = format_json_path(result.path) if result.path else None
    message = result.message or f"validation error: rule {result.rule} failed"
    if result.status == ERROR:
        message = f"policy {policy.key!r} rule {result.rule!r}: {message}"
    return RawResult(
        engine=ENGINE,
        policy=policy.name,
        message=message,
        level=level,
        rule_id=f"kyverno:{policy.name}/{result.rule}",
        document=document,
        json_path=json_path or None,
        severity=policy.severity,
        title=policy.title,
        policy_path=policy.path,
        policy_line=policy.line,
        properties={"action": result.action, "status": result.status,
                    **({"autogen_of": result.autogen_of} if result.autogen_of else {})},
    )


class KyvernoEngine:
    """The engine seam over a `KyvernoPolicySet`, with the profile's audit-mode rule.

    A failure of a rule in Audit mode fails the gate like an Enforce failure
    unless `kyverno.audit_fails: false`, which turns it into a warning: that
    is the one place Kyverno's validationFailureAction meets cdgate outcomes.
    """

    name = ENGINE

    def __init__(self, policy_set: KyvernoPolicySet, audit_fails: bool = True) -> None:
        self.policy_set = policy_set
        self.audit_fails = audit_fails

    @property
    def policy_count(self) -> int:
        return self.policy_set.rule_count

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        admission = request.admission
        operation = RequestInfo()
        if admission is not None:
            user = admission.user_info
            groups = user.get("groups")
            operation = RequestInfo(
                operation=admission.operation,
                username=str(user.get("username") or ""),
                groups=tuple(str(g) for g in groups) if isinstance(groups, list) else (),
            )
        namespace_labels: dict[str, dict[str, Any]] = {}
        if admission is not None and admission.namespace:
            namespace_labels[admission.namespace] = dict(admission.namespace_labels)
        old_object = dict(admission.old_object) if admission is not None and admission.old_object else None
        raw: list[RawResult] = []
        for document in request.documents:
            if not document.is_resource:
                continue
            for policy, result in self.policy_set.results(document.obj, operation, namespace_labels, old_object):
                converted = to_raw(policy, result, document)
                if converted is None:
                    continue
                if not self.audit_fails and converted.level is Level.DENY and result.action == "Audit":
                    converted.level = Level.WARN
                raw.append(converted)
            request.advance(1)
        return raw


def compile_for_profile(profile: Profile, root: Path) -> KyvernoEngine | None:
    """The engine factory: bundled and team Kyverno policies from the profile, or None.

    Team paths that yield no Kyverno policy are a PolicyError (exit 2), never a silent pass.
    """
    paths: list[Path] = []
    if profile.kyverno.bundled:
        paths.append(BUNDLED_KYVERNO_DIR)
    paths.extend(profile.kyverno.policies)
    if not paths:
        return None
    policy_set = load_policies(paths)
    team_files = {str(p) for p in _policy_files(profile.kyverno.policies)}
    if profile.kyverno.policies and not policy_set.exceptions and not any(
            p.path in team_files for p in policy_set.policies):
        shown = ", ".join(str(p) for p in profile.kyverno.policies)
        raise PolicyError(f"kyverno.policies ({shown}) holds no Kyverno ClusterPolicy, Policy or PolicyException",
                          hint="point kyverno.policies at Kyverno policy files (CEL policies go under cel.policies)")
    if profile.cel.params or profile.cel.data:  # validate.cel rules read the same params and data
        from scanner.engines.cel.engine import load_cel_policies

        extra = load_cel_policies([], profile.cel.params, profile.cel.data)
        policy_set.cel_data, policy_set.cel_params = extra.data, extra.params
    return KyvernoEngine(policy_set, profile.kyverno.audit_fails)
