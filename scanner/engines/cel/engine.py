"""The "cel" engine for the manifest gate: ValidatingAdmissionPolicies and Kyverno ValidatingPolicies.

`compile_for_profile` loads the files listed under `cel.policies` in
gate.yaml (ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
ValidatingPolicy, policies.kyverno.io PolicyException), compiling every
expression once; a broken one stops the run (exit 2) before inputs are read.
`CelEngine.evaluate` runs them on every resource document. A violation of
validation `i` is rule `vap:<policy>/<i>` or `cel:<policy>/<i>`; its level
follows validationActions (Deny -> deny, Warn or Audit alone -> warn); an
expression that cannot be evaluated is an error result, under failurePolicy
Ignore too (admission would let it through; the gate does not pass it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from scanner.engines.base import EvaluationRequest, Level, RawResult
from scanner.engines.cel import vap
from scanner.engines.cel.external import ExternalData
from scanner.engines.cel.request import UserInfo
from scanner.engines.cel.values import as_map
from scanner.engines.kyverno.validating_policy import CelPolicyException, PolicyOutcome, ValidatingPolicy
from scanner.errors import PolicyError, yaml_error_details
from scanner.inputs.document import Document
from scanner.profile import Profile

ENGINE = "cel"


@dataclass
class CelPolicySet:
    """Every compiled CEL policy from the profile, with bindings, params and offline data."""

    admission: list[vap.AdmissionPolicy] = field(default_factory=list)
    bindings: list[vap.Binding] = field(default_factory=list)
    validating: list[ValidatingPolicy] = field(default_factory=list)
    exceptions: list[CelPolicyException] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    data: ExternalData | None = None

    def results(self, obj: dict[str, Any], operation: str = "CREATE") -> list[tuple[str, str, str]]:
        """(policy, status, message) of every CEL policy that selects `obj` (for `cdgate kyverno apply`)."""
        from scanner.engines.kyverno.validating_policy import CelRequest, check_validating_policy

        out: list[tuple[str, str, str]] = []
        for policy in self.admission:
            for result in vap.evaluate(policy, self.bindings, obj, operation, params=self.params):
                message = result.error or "; ".join(v.message for v in result.violations)
                status = result.status
                if status == "fail" and "Deny" not in result.actions:
                    status = "warn"
                out.append((policy.name, status, message))
        request = CelRequest(obj, operation, data=self.data)
        for vpol in self.validating:
            outcome = check_validating_policy(vpol, request, self.exceptions)
            if outcome is not None:
                out.append((vpol.key, outcome.status, outcome.message))
        return out

    @property
    def rule_count(self) -> int:
        return sum(len(p.checks.validations) for p in self.admission) + sum(len(p.checks.validations) for p in self.validating)


def _documents(path: Path) -> list[tuple[int, Any]]:
    """(start line, document) of every document in a policy file, read as Kyverno policy files are."""
    import yaml

    from scanner.engines.kyverno.policy import _document_lines, _load_with_index

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read CEL policy file: {exc.strerror}", path=str(path)) from None
    starts = _document_lines(text)
    try:
        docs = list(_load_with_index(text))
    except yaml.YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise PolicyError(f"invalid YAML: {problem}", path=str(path), line=line, column=column) from None
    return [(starts[i] if i < len(starts) else 1, doc) for i, doc in docs]


def _files(paths: Sequence[Path], what: str) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise PolicyError(f"{what} path not found", path=str(path), hint=f"check cel.{what} in gate.yaml")
    return files


def load_cel_policies(policies: Sequence[Path], params: Sequence[Path] = (), data: Sequence[Path] = ()) -> CelPolicySet:
    """Load and compile CEL policy files; PolicyError names the file, policy, field and expression."""
    from scanner.engines.kyverno.validating_policy import (
        build_cel_exception, build_validating_policy, is_cel_exception, is_validating_policy,
    )

    loaded = CelPolicySet()
    for path in _files(policies, "policies"):
        for line, doc in _documents(path):
            if vap.is_vap(doc):
                loaded.admission.append(vap.build_policy(doc, str(path), line))
            elif vap.is_binding(doc):
                loaded.bindings.append(vap.build_binding(doc, str(path), line))
            elif is_validating_policy(doc):
                loaded.validating.append(build_validating_policy(doc, str(path), line))
            elif is_cel_exception(doc):
                loaded.exceptions.append(build_cel_exception(doc, str(path)))
    known = {p.name for p in loaded.admission}
    for binding in loaded.bindings:
        if binding.policy_name not in known:
            raise PolicyError(f"ValidatingAdmissionPolicyBinding {binding.name!r} binds unknown policy "
                              f"{binding.policy_name!r}", hint="add the policy to cel.policies")
    for path in _files(params, "params"):
        loaded.params.extend(doc for _, doc in _documents(path) if isinstance(doc, dict) and doc.get("kind"))
    for path in _files(data, "data"):
        for _, doc in _documents(path):
            if not isinstance(doc, dict):
                continue
            loaded.data = loaded.data or ExternalData()
            if doc.get("kind") == "Context":
                found = ExternalData.from_context_document(doc)
                loaded.data.resources.extend(found.resources)
                loaded.data.images.update(found.images)
            if doc.get("apiCallResponses") or doc.get("globalContextEntries"):
                base = path.parent
                loaded.data.add_test_mocks(doc, lambda name, base=base: [
                    d for _, d in _documents(base / name) if isinstance(d, dict) and d.get("kind")])
    return loaded


def _level(actions: Sequence[str]) -> Level:
    return Level.DENY if "Deny" in actions else Level.WARN


class CelEngine:
    """The engine seam over a `CelPolicySet`; stateless per call, so safe from any thread."""

    name = ENGINE

    def __init__(self, policy_set: CelPolicySet) -> None:
        self.policy_set = policy_set

    @property
    def policy_count(self) -> int:
        return self.policy_set.rule_count

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        from scanner.engines.kyverno.validating_policy import CelRequest, check_validating_policy

        admission = request.admission
        operation = admission.operation if admission is not None else "CREATE"
        old = dict(admission.old_object) if admission is not None and admission.old_object else None
        user_info = dict(admission.user_info) if admission is not None else {}
        user = UserInfo(str(user_info.get("username") or ""), tuple(str(g) for g in user_info.get("groups") or []))
        resources = [d for d in request.documents if d.is_resource]
        namespaces = {d.name or "": d.obj for d in resources if d.kind == "Namespace"}
        namespace_labels = {name: dict(as_map(as_map(obj.get("metadata")).get("labels"))) for name, obj in namespaces.items()}
        if admission is not None and admission.namespace:
            namespace_labels[admission.namespace] = dict(admission.namespace_labels)
        params = self.policy_set.params + [d.obj for d in resources]
        raw: list[RawResult] = []
        for document in resources:
            try:
                for policy in self.policy_set.admission:
                    for result in vap.evaluate(policy, self.policy_set.bindings, document.obj, operation, user, old,
                                               namespace_labels, params):
                        raw.extend(self._admission_results(policy, result, document))
                cel_request = CelRequest(document.obj, operation, user, old, namespace_labels, namespaces, self.policy_set.data)
                for vpol in self.policy_set.validating:
                    outcome = check_validating_policy(vpol, cel_request, self.policy_set.exceptions)
                    if outcome is not None:
                        raw.extend(self._validating_results(vpol, outcome, document))
            except Exception as exc:  # noqa: BLE001 - fail closed: an engine fault is an error, never a pass
                raw.append(RawResult(engine=ENGINE, policy="cel", level=Level.ERROR, document=document,
                                     message=f"CEL engine error ({type(exc).__name__}: {exc}); please report it"))
            request.advance(1)
        return raw

    @staticmethod
    def _admission_results(policy: vap.AdmissionPolicy, result: vap.VapResult, document: Document) -> list[RawResult]:
        source = _Source(policy.name, policy.severity, None, policy.path, policy.line,
                         {"binding": result.binding, "validationActions": list(result.actions)})
        if result.status == "error" or (result.status == "skip" and result.error):
            # failurePolicy Ignore lets an error through at admission; the gate never passes one
            return [source.result(document, result.error or "evaluation failed", Level.ERROR)]
        if result.status != "fail":
            return []
        return [source.result(document, v.message, _level(result.actions), f"vap:{policy.name}/{v.index}", v.field_path)
                for v in result.violations]

    @staticmethod
    def _validating_results(policy: ValidatingPolicy, outcome: PolicyOutcome, document: Document) -> list[RawResult]:
        source = _Source(policy.name, policy.severity, policy.title, policy.path, policy.line,
                         {"validationActions": list(policy.actions)})
        if outcome.status == "error" or outcome.error_ignored:
            return [source.result(document, outcome.message, Level.ERROR)]
        if outcome.status != "fail":
            return []
        return [source.result(document, v.message, _level(policy.actions), f"cel:{policy.name}/{v.index}", v.field_path)
                for v in outcome.violations]


@dataclass(frozen=True)
class _Source:
    """What every result of one policy carries."""

    policy: str
    severity: str | None
    title: str | None
    path: str
    line: int
    properties: dict[str, Any]

    def result(self, document: Document, message: str, level: Level, rule_id: str | None = None,
               json_path: str | None = None) -> RawResult:
        return RawResult(engine=ENGINE, policy=self.policy, message=message, level=level, rule_id=rule_id,
                         document=document, json_path=json_path, severity=self.severity, title=self.title,
                         policy_path=self.path, policy_line=self.line, properties=dict(self.properties))


def compile_for_profile(profile: Profile, root: Path) -> CelEngine | None:
    """The engine factory: the profile's `cel.policies`, or None when it lists none.

    Paths that yield no validation are a PolicyError (exit 2): a gate that
    checks nothing must not pass.
    """
    settings = profile.cel
    if not settings.policies:
        return None
    policy_set = load_cel_policies(settings.policies, settings.params, settings.data)
    if policy_set.rule_count == 0:
        shown = ", ".join(str(p) for p in settings.policies)
        raise PolicyError(f"cel.policies ({shown}) holds no ValidatingAdmissionPolicy or ValidatingPolicy "
                          "with validations", hint="point cel.policies at CEL policy files, or remove it from gate.yaml")
    return CelEngine(policy_set)
