"""`kyverno test`: run `kyverno-test.yaml` suites and score them strictly.

A suite (`cli.kyverno.io/v1alpha1` `Test`) names policies, resources,
values, user info, exceptions and expected results. A row passes only when
the engine produced exactly the expected result for that policy, rule and
each listed resource; a row the engine has nothing to say about fails
(Kyverno's own CLI would count it as passed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from scanner.engines.cel import vap
from scanner.engines.cel.external import ExternalData
from scanner.engines.cel.request import UserInfo
from scanner.engines.cel.vap import AdmissionPolicy, Binding
from scanner.engines.kyverno.budget import resource_problem
from scanner.engines.kyverno.validating_policy import (
    CelPolicyException, CelRequest, ValidatingPolicy, build_cel_exception, build_validating_policy,
    evaluate_validating_policy, is_cel_exception, is_validating_policy,
)
from scanner.engines.kyverno.evaluate import EvalInputs, base_context, evaluate_policy
from scanner.engines.kyverno.exceptions import build_exception, is_exception
from scanner.engines.kyverno.matching import RequestInfo, ResourceView
from scanner.engines.kyverno.policy import Policy, check_policy, is_policy, build_policy
from scanner.engines.kyverno.results import ERROR, FAIL, WARN, RuleResult
from scanner.engines.kyverno.yamlio import load_all
from scanner.errors import CdgateError, PolicyError, yaml_error_details
from scanner.engines.kyverno.yamlio import as_map

TEST_FILE_NAMES = ("kyverno-test.yaml", "kyverno-test.yml")


@dataclass
class RowOutcome:
    """One expected result row, per resource, and whether the engine agreed."""

    policy: str
    rule: str
    resource: str
    kind: str
    expected: str
    actual: str  # what the engine said, or "none"
    passed: bool
    message: str = ""


@dataclass
class SuiteOutcome:
    path: str
    rows: list[RowOutcome] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.rows) and all(r.passed for r in self.rows)

    @property
    def counts(self) -> tuple[int, int]:
        return sum(r.passed for r in self.rows), len(self.rows)


def must_fail(path: str | Path) -> bool:
    """Suites under a `test-fail` folder are Kyverno's own must-fail suites.

    Kyverno's repository keeps suites whose expectations are wrong on purpose
    (a missing policy, rule or resource, an invalid policy) under
    `test/cli/test-fail/`; `kyverno test` must report them as failing.
    """
    return "test-fail" in Path(path).parts


def suite_conforms(outcome: SuiteOutcome) -> bool:
    """A suite conforms when it passes, or fails if it is a must-fail suite."""
    return (not outcome.passed) if must_fail(outcome.path) else outcome.passed


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every `kyverno-test.yaml` under the given files and directories, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for name in TEST_FILE_NAMES:
                found.extend(sorted(path.rglob(name)))
        else:
            raise CdgateError(f"no such file or directory: {raw}", hint="pass a kyverno-test.yaml or a folder holding some")
    return sorted(set(found))


def _read_docs(path: Path) -> list[Any]:
    import yaml

    try:
        return list(load_all(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise CdgateError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        problem, line, column = yaml_error_details(exc)
        raise CdgateError(f"invalid YAML: {problem}", path=str(path), line=line, column=column) from None


def _files(base: Path, entries: Any) -> list[Path]:
    out: list[Path] = []
    for entry in entries or []:
        path = (base / str(entry)).resolve()
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")))
        else:
            out.append(path)
    return out


def _load_values(base: Path, spec: dict[str, Any], inputs: EvalInputs) -> list[str]:
    """Read `variables:` (a values file) and inline `values:`; return value names."""
    blocks: list[dict[str, Any]] = []
    if spec.get("variables"):
        docs = _read_docs(base / str(spec["variables"]))
        blocks.extend(d for d in docs if isinstance(d, dict))
    if isinstance(spec.get("values"), dict):
        blocks.append(spec["values"])
    names: list[str] = []
    for block in blocks:
        for key, value in (block.get("globalValues") or {}).items():
            inputs.values[str(key)] = value
            names.append(str(key))
        for pol in block.get("policies") or []:
            pname = str(pol.get("name") or "")
            for rule in pol.get("rules") or []:
                vals = {str(k): v for k, v in (rule.get("values") or {}).items()}
                inputs.rule_values.setdefault((pname, str(rule.get("name") or "")), {}).update(vals)
                names.extend(vals)
            for res in pol.get("resources") or []:
                vals = {str(k): v for k, v in (res.get("values") or {}).items()}
                inputs.resource_values.setdefault((pname, str(res.get("name") or "")), {}).update(vals)
                names.extend(vals)
        for ns in block.get("namespaceSelector") or []:
            inputs.namespace_labels[str(ns.get("name") or "")] = dict(ns.get("labels") or {})
        for ns in block.get("namespaces") or []:
            if isinstance(ns, dict) and ns.get("kind") == "Namespace":
                ns_name = str(as_map(ns.get("metadata")).get("name") or "")
                inputs.namespace_objects[ns_name] = ns
                inputs.namespace_labels.setdefault(ns_name, dict(as_map(ns.get("metadata")).get("labels") or {}))
    return names


def _load_userinfo(base: Path, spec: dict[str, Any]) -> dict[str, Any]:
    if not spec.get("userinfo"):
        return {}
    docs = _read_docs(base / str(spec["userinfo"]))
    return docs[0] if docs and isinstance(docs[0], dict) else {}


def _request(userinfo: dict[str, Any], operation: str) -> RequestInfo:
    user = userinfo.get("userInfo") or {}
    return RequestInfo(
        operation=operation,
        username=str(user.get("username") or ""),
        groups=tuple(str(g) for g in user.get("groups") or []),
        roles=tuple(str(r) for r in userinfo.get("roles") or []),
        cluster_roles=tuple(str(r) for r in userinfo.get("clusterRoles") or []),
    )


def _operation_for(inputs: EvalInputs, policy: Policy, name: str) -> str:
    for key in (policy.name, policy.key):
        vals = inputs.resource_values.get((key, name), {})
        if "request.operation" in vals:
            return str(vals["request.operation"])
    for (pname, _rule), vals in inputs.rule_values.items():
        if pname in (policy.name, policy.key) and "request.operation" in vals:
            return str(vals["request.operation"])
    return str(inputs.values.get("request.operation") or "CREATE")


def _scored(policy: Policy, result: RuleResult) -> str:
    if result.status == ERROR and result.error_denies:
        return FAIL  # Kyverno reports the denial Kubernetes' validator makes of an expression error
    if result.status == FAIL and str(policy.annotations.get("policies.kyverno.io/scored", "")).lower() == "false":
        return WARN
    return result.status


def run_suite(test_path: Path) -> SuiteOutcome:
    """Run one `kyverno-test.yaml`; errors in the suite become `error`."""
    started = time.perf_counter()
    outcome = SuiteOutcome(path=str(test_path))
    try:
        _run(test_path, outcome)
    except CdgateError as exc:
        outcome.error = str(exc)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _run(test_path: Path, outcome: SuiteOutcome) -> None:
    docs = _read_docs(test_path)
    if not docs or not isinstance(docs[0], dict):
        raise CdgateError("empty test file", path=str(test_path))
    for spec in docs:  # a file may hold several Test documents; each is scored
        if isinstance(spec, dict) and (spec.get("kind") in (None, "Test") or spec is docs[0]):
            _run_test(test_path, spec, outcome)


def _run_test(test_path: Path, spec: dict[str, Any], outcome: SuiteOutcome) -> None:
    base = test_path.parent
    inputs = EvalInputs()
    value_names = _load_values(base, spec, inputs)
    userinfo = _load_userinfo(base, spec)

    policies: list[Policy] = []
    cel = CelSuite()
    for path in _files(base, spec.get("policies")):
        if not path.exists():
            raise PolicyError("policy file not found", path=str(path))
        for doc in _read_docs(path):
            if is_policy(doc):
                policy = build_policy(doc, str(path))
                check_policy(policy, extra_roots=value_names, check_roots=False)
                policies.append(policy)
            elif is_exception(doc):
                inputs.exceptions.append(build_exception(doc))
            else:
                cel.add(doc, str(path))
    for path in _files(base, spec.get("exceptions")):
        for doc in _read_docs(path):
            if is_exception(doc):
                inputs.exceptions.append(build_exception(doc))
            else:
                cel.add(doc, str(path))
    if spec.get("context"):
        for doc in _read_docs(base / str(spec["context"])):
            if isinstance(doc, dict) and doc.get("kind") == "Context":
                inputs.cel_data = ExternalData.from_context_document(doc)
    if spec.get("apiCallResponses") or spec.get("globalContextEntries"):
        inputs.cel_data = inputs.cel_data or ExternalData()
        inputs.cel_data.add_test_mocks(
            spec, lambda name: [d for d in _read_docs(base / name) if isinstance(d, dict) and d.get("kind")])
    resources: list[dict[str, Any]] = []
    for path in _files(base, spec.get("resources")):
        if not path.exists():
            raise CdgateError("resource file not found", path=str(path))
        for doc in _read_docs(path):
            if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                resources.extend(d for d in doc["items"] if isinstance(d, dict))
            elif isinstance(doc, dict) and doc.get("kind"):
                resources.append(doc)
    for path in _files(base, spec.get("clusterResources")):
        docs = _read_docs(path) if path.exists() else []
        expanded: list[Any] = []
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "ClusterResource":
                expanded.extend(as_map(doc.get("spec")).get("resources") or [])
            else:
                expanded.append(doc)
        for doc in expanded:
            if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
                meta = as_map(doc.get("metadata"))
                inputs.config_maps[(str(meta.get("namespace") or "default"), str(meta.get("name") or ""))] = doc
            if isinstance(doc, dict) and doc.get("kind") == "Namespace":
                meta = as_map(doc.get("metadata"))
                inputs.namespace_labels.setdefault(str(meta.get("name") or ""), dict(meta.get("labels") or {}))

    for path in _files(base, spec.get("paramResources")):
        cel.params.extend(d for d in _read_docs(path) if isinstance(d, dict) and d.get("kind"))
    inputs.cel_params = cel.params + resources
    for obj in resources:
        problem = resource_problem(obj)
        if problem is not None:
            raise CdgateError(f"resource {as_map(obj.get('metadata')).get('name')!r}: {problem}", path=str(test_path))
    subresources = _subresources(spec, base)
    row_operations = {str(r["operation"]) for r in spec.get("results") or [] if isinstance(r, dict) and r.get("operation")}
    results: list[Scored] = []
    for policy in policies:
        for original in resources:
            meta = as_map(original.get("metadata"))
            name = str(meta.get("name") or "")
            obj = _with_object_values(original, inputs, policy, name)
            default_op = _operation_for(inputs, policy, name)
            for operation in sorted({default_op} | row_operations):
                local = EvalInputs(**{**inputs.__dict__, "request": _request(userinfo, operation)})
                view = ResourceView.of(obj, inputs.namespace_labels.get(str(meta.get("namespace") or ""), {}))
                _apply_subresource(view, subresources)
                base_ctx = base_context(obj, local)
                for result in evaluate_policy(policy, obj, local, base_ctx, view):
                    results.append(Scored(original, policy, result, operation, operation == default_op))

    if not cel.empty:
        user = userinfo.get("userInfo") or {}
        cel_user = UserInfo(str(user.get("username") or ""), tuple(str(g) for g in user.get("groups") or []))
        for original in resources:
            name = str(as_map(original.get("metadata")).get("name") or "")
            operation = str(inputs.values.get("request.operation") or "CREATE")
            evaluated = _in_default_namespace(original)
            for key, vals in inputs.resource_values.items():
                if key[1] == name and "request.operation" in vals:
                    operation = str(vals["request.operation"])
            for op in sorted({operation} | row_operations):
                for scored_policy, result in cel.evaluate(evaluated, op, cel_user, inputs, resources):
                    results.append(Scored(original, scored_policy, result, op, op == operation))
    for path in _files(base, spec.get("jsonPayloads")):
        payload = _read_json_payload(path)
        stub = {"kind": "", "metadata": {"name": path.name}}
        for scored_policy, result in cel.evaluate(payload, "CREATE", UserInfo(), inputs, [], json_mode=True):
            results.append(Scored(stub, scored_policy, result, "CREATE", True))

    for row in spec.get("results") or []:
        outcome.rows.extend(_score_row(row, results))


def _read_json_payload(path: Path) -> dict[str, Any]:
    """A `jsonPayloads` file: any JSON document, reviewed by policies in JSON evaluation mode."""
    import json

    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CdgateError(f"cannot read JSON payload: {exc.strerror}", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise CdgateError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno, column=exc.colno) from None
    if not isinstance(payload, dict):
        raise CdgateError("a JSON payload must be an object", path=str(path))
    return payload


def _in_default_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    """A namespaced object without a namespace is created in `default`, as `kubectl apply` would."""
    from scanner.engines.cel.matching import CLUSTER_SCOPED

    meta = as_map(obj.get("metadata"))
    if meta.get("namespace") or str(obj.get("kind")) in CLUSTER_SCOPED:
        return obj
    return {**obj, "metadata": {**meta, "namespace": "default"}}


@dataclass
class CelSuite:
    """The CEL policies of a suite: Kyverno ValidatingPolicies and their exceptions,
    ValidatingAdmissionPolicies and bindings, and the params objects."""

    validating: list[ValidatingPolicy] = field(default_factory=list)
    exceptions: list[CelPolicyException] = field(default_factory=list)
    admission: list[AdmissionPolicy] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.validating or self.admission)

    def add(self, doc: Any, path: str) -> None:
        if is_validating_policy(doc):
            self.validating.append(build_validating_policy(doc, path))
        elif is_cel_exception(doc):
            self.exceptions.append(build_cel_exception(doc, path))
        elif vap.is_vap(doc):
            self.admission.append(vap.build_policy(doc, path))
        elif vap.is_binding(doc):
            self.bindings.append(vap.build_binding(doc, path))

    def evaluate(self, obj: dict[str, Any], operation: str, user: UserInfo, inputs: EvalInputs,
                 resources: list[dict[str, Any]], json_mode: bool = False) -> list[tuple[Any, RuleResult]]:
        """Results of the suite's CEL policies on one resource (or, `json_mode`, one JSON payload)."""
        out: list[tuple[Any, RuleResult]] = []
        namespaces = dict(inputs.namespace_objects)
        namespaces.update({str(as_map(r.get("metadata")).get("name") or ""): r for r in resources if r.get("kind") == "Namespace"})
        request = CelRequest(obj, operation, user, None, inputs.namespace_labels, namespaces, inputs.cel_data)
        for policy in self.validating:
            if policy.json_mode != json_mode:
                continue
            result = evaluate_validating_policy(policy, request, self.exceptions)
            if result is not None:
                out.append((policy, result))
        for admission in self.admission if not json_mode else []:
            for res in vap.evaluate(admission, self.bindings, obj, operation, user, None, inputs.namespace_labels,
                                    self.params + resources):
                # Kubernetes' validator denies on an expression error under failurePolicy Fail.
                status = FAIL if res.status == "error" else res.status
                message = res.error or "; ".join(v.message for v in res.violations)
                out.append((admission, RuleResult(admission.name, "", status, message)))
        return out


@dataclass
class Scored:
    obj: dict[str, Any]
    policy: Policy
    result: RuleResult
    operation: str
    default_operation: bool


def _subresources(spec: dict[str, Any], base: Path) -> dict[tuple[str, str], tuple[str, str, str, str]]:
    """Values-file `subresources`: (apiVersion, kind) -> parent (group, version, kind, subresource)."""
    out: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    if not spec.get("variables"):
        return out
    for block in _read_docs(base / str(spec["variables"])):
        for item in (block or {}).get("subresources") or []:
            parent = item.get("parentResource") or {}
            sub = item.get("subresource") or {}
            api = f"{sub.get('group')}/{sub.get('version')}" if sub.get("group") else str(sub.get("version") or "")
            name = str(sub.get("name") or "")
            out[(api, str(sub.get("kind") or ""))] = (
                str(parent.get("group") or ""), str(parent.get("version") or ""), str(parent.get("kind") or ""),
                name.split("/", 1)[1] if "/" in name else name,
            )
    return out


def _apply_subresource(view: ResourceView, subresources: dict[tuple[str, str], tuple[str, str, str, str]]) -> None:
    api = f"{view.group}/{view.version}" if view.group else view.version
    parent = subresources.get((api, view.kind))
    if parent is not None:
        view.group, view.version, view.kind, view.subresource = parent


def _with_object_values(obj: dict[str, Any], inputs: EvalInputs, policy: Policy, name: str) -> dict[str, Any]:
    """Values that set `request.object.*` change the resource itself (Kyverno CLI)."""
    import copy

    from scanner.engines.kyverno.variables import set_path

    wanted = {}
    for key in (policy.name, policy.key):
        for k, v in inputs.resource_values.get((key, name), {}).items():
            if k.startswith("request.object."):
                wanted[k[len("request.object."):]] = v
    if not wanted:
        return obj
    out = copy.deepcopy(obj)
    for k, v in wanted.items():
        set_path(out, k, v)
    return out


def _names(row: dict[str, Any]) -> list[str]:
    names = [str(r) for r in row.get("resources") or []]
    if row.get("resource"):
        names.append(str(row["resource"]))
    return names


def _resource_matches(obj: dict[str, Any], wanted: str, row: dict[str, Any]) -> bool:
    if not wanted:
        return True  # the row names no resource: every result of its policy counts
    meta = as_map(obj.get("metadata"))
    name = str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "default")
    if row.get("kind") and str(row["kind"]) != str(obj.get("kind")):
        return False
    if row.get("namespace") and str(row["namespace"]) != namespace:
        return False
    if wanted == name:
        return True
    if "/" in wanted:
        return wanted in (f"{namespace}/{name}", f"{obj.get('kind')}/{name}", f"{obj.get('kind')}/{namespace}/{name}")
    return False


def _rule_matches(result: RuleResult, rule: str) -> bool:
    if result.rule == "":  # a ValidatingPolicy or VAP has no rules: whatever rule a row names is ignored
        return True
    return result.rule in (rule, f"autogen-{rule}", f"autogen-cronjob-{rule}")


def _score_row(row: dict[str, Any], results: list[Scored]) -> list[RowOutcome]:
    expected = str(row.get("result") or row.get("status") or "")
    policy_name = str(row.get("policy") or "")
    rule = str(row.get("rule") or "")
    operation = str(row.get("operation") or "")
    out = []
    for wanted in _names(row) or [""]:
        got = [
            (s.policy, s.result)
            for s in results
            if (s.result.policy == policy_name or s.policy.name == policy_name)
            and (s.operation == operation if operation else s.default_operation)
            and _rule_matches(s.result, rule)
            and _resource_matches(s.obj, wanted, row)
        ]
        statuses = sorted({_scored(p, r) for p, r in got})
        actual = ",".join(statuses) if statuses else "none"
        message = "; ".join(r.message for _, r in got if r.message)[:500]
        out.append(
            RowOutcome(policy_name, rule, wanted, str(row.get("kind") or ""), expected, actual,
                       passed=bool(got) and statuses == [expected], message=message)
        )
    return out
