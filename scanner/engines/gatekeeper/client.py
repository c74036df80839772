"""Templates and constraints compiled once; reviews evaluated against them from any thread.

`GatekeeperPolicies.review` is the one evaluation both the gate and
`cdgate gatekeeper verify` use: it matches each constraint against the
review, runs the engine Gatekeeper would pick for the template
(`native.choose_engine`): its K8sNativeValidation CEL (`native.py`), or its
`violation` rule with `input = {"review": ..., "parameters": ...}` and
`data.inventory`; and returns the violations and the errors. A regorus failure, an
`external_data` call without configured data, or a namespaceSelector on an
unknown Namespace is a `ReviewError`, never a silent pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from scanner.engines.gatekeeper.constraint import Constraint, is_constraint, parse_constraint
from scanner.paths import shown_path
from scanner.engines.gatekeeper.files import read_documents, yaml_files
from scanner.engines.gatekeeper.match import NamespaceUnknown, matches_any
from scanner.engines.gatekeeper.native import CEL_ENGINE, REGO_ENGINE, NativeValidation, choose_engine, compile_native
from scanner.engines.gatekeeper.native import evaluate as evaluate_native
from scanner.engines.gatekeeper.native import review_data
from scanner.engines.gatekeeper.review import Review, namespace_labels
from scanner.engines.gatekeeper.template import ConstraintTemplate, build_engine, check_compiles, is_template, parse_template
from scanner.engines.per_thread import PerThread, reraise_interrupts
from scanner.engines.rego_errors import parse_regorus_error
from scanner.errors import PolicyError
from scanner.inputs.document import Document

ExternalDataResponses = Mapping[str, Mapping[str, Any]]  # provider -> key -> value


@dataclass(frozen=True)
class Violation:
    """One entry of a template's `violation` set, for one constraint."""

    constraint: Constraint
    template: ConstraintTemplate
    message: str
    details: Any = None
    engine: str = REGO_ENGINE  # the template code that reported it: Rego or K8sNativeValidation


@dataclass(frozen=True)
class ReviewError:
    """A constraint that could not be evaluated on a review, and why."""

    constraint: Constraint
    message: str
    hint: str = ""


@dataclass
class ReviewOutcome:
    violations: list[Violation] = field(default_factory=list)
    errors: list[ReviewError] = field(default_factory=list)
    matched: int = 0  # constraints that applied to the review


class ExternalDataMissing(Exception):
    """A template called `external_data` for a provider cdgate has no responses for."""


class _ExternalData:
    """Gatekeeper's `external_data` builtin answered from configured responses, never the network."""

    def __init__(self, responses: ExternalDataResponses) -> None:
        self.responses = responses

    def __call__(self, request: Any) -> Any:
        provider = str(request.get("provider")) if isinstance(request, dict) else ""
        known = self.responses.get(provider)
        if known is None:
            raise ExternalDataMissing(
                f"external_data provider {provider!r} has no configured responses "
                "(cdgate never calls providers: give them in gatekeeper.external_data in gate.yaml)"
            )
        keys = request.get("keys") or [] if isinstance(request, dict) else []
        found = [[k, known[k]] for k in keys if k in known]
        missing = [[k, "no configured response for this key"] for k in keys if k not in known]
        return {"responses": found, "errors": missing, "status_code": 200, "system_error": ""}


class _ThreadEngine:
    """One thread's regorus engine for one template, and the inventory it currently holds."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.inventory: Mapping[str, Any] | None = None

    def load_inventory(self, inventory: Mapping[str, Any]) -> None:
        if self.inventory is inventory:
            return
        self.engine.clear_data()
        self.engine.add_data_json(json.dumps({"inventory": inventory}, default=str))
        self.inventory = inventory


class GatekeeperPolicies:
    """Compiled templates and their constraints; `review` is safe from any thread."""

    def __init__(
        self,
        templates: Mapping[str, ConstraintTemplate],
        constraints: Sequence[Constraint],
        external_data: ExternalDataResponses | None = None,
        k8s_native_validation: bool = True,
    ) -> None:
        """Compile every template's chosen code now (a broken one is a PolicyError).

        `k8s_native_validation` is Gatekeeper's `--enable-k8s-native-validation`
        (default on): templates carrying CEL run it; off, they run their Rego.
        """
        self.templates = dict(templates)
        self.constraints = list(constraints)
        self._external_data = _ExternalData(external_data or {})
        self._engines: PerThread[str, _ThreadEngine] = PerThread(self._build)
        self._parameters_json: dict[str, str] = {}  # rule id -> JSON; a benign race fills it twice at worst
        self.native: dict[str, NativeValidation] = {}  # kind -> compiled CEL, for templates that run it
        for template in self.templates.values():
            engine = choose_engine(template.engines, k8s_native_validation)
            if engine == CEL_ENGINE and template.native is not None:
                self.native[template.kind] = compile_native(template.name, template.native)
            elif engine == REGO_ENGINE:
                check_compiles(template, self._external_data)
            else:
                raise PolicyError(
                    f"ConstraintTemplate {template.name} has only K8sNativeValidation (CEL) code, and "
                    "K8sNativeValidation is turned off",
                    path=template.path,
                    line=template.line,
                    hint="turn it on (gatekeeper.k8s_native_validation: true, the default), or add Rego code",
                )

    def engine_of(self, kind: str) -> str:
        """The code that runs for constraints of `kind`: K8sNativeValidation or Rego."""
        return CEL_ENGINE if kind in self.native else REGO_ENGINE

    def _build(self, kind: str) -> _ThreadEngine:
        return _ThreadEngine(build_engine(self.templates[kind], self._external_data))

    def review(
        self,
        review: Review,
        inventory: Mapping[str, Any],
        labels: Mapping[str, str] | None = None,
        *,
        all_actions: bool = False,
    ) -> ReviewOutcome:
        """Every matching constraint's violations for `review`.

        `labels` are the labels of the review's Namespace when the caller
        knows them (the webhook); otherwise they come from a synced Namespace
        in `inventory`. Pass the same `inventory` object for a batch of
        reviews: each thread loads it into its engines once. `all_actions`
        also evaluates constraints whose action does not apply to cdgate
        (scoped to audit only), as gator counts every constraint.
        """
        outcome = ReviewOutcome()
        if labels is None and review.namespace:
            labels = namespace_labels(inventory, review.namespace)
        targets = review.match_targets(labels)
        review_json: str | None = None  # the review as JSON, made for the first Rego constraint
        cel_data: dict[str, Any] | None = None  # the review's CEL variables, built for the first CEL constraint
        for constraint in self.constraints:
            if not constraint.action and not all_actions:
                continue
            try:
                if not matches_any(constraint.match, targets):
                    continue
            except NamespaceUnknown as exc:
                outcome.errors.append(
                    ReviewError(
                        constraint,
                        f"{constraint.rule_id}: namespaceSelector needs the labels of Namespace {exc.namespace!r}, which is not known",
                        "add the Namespace manifest to the scanned paths (and sync v1/Namespace), or drop the namespaceSelector",
                    )
                )
                continue
            outcome.matched += 1
            native = self.native.get(constraint.kind)
            if native is not None:
                if cel_data is None:
                    cel_data = review_data(review.value, _namespace_object(review, inventory, labels))
                self._evaluate_native(constraint, native, cel_data, outcome)
            else:
                if review_json is None:
                    review_json = json.dumps(review.value, default=str)
                self._evaluate(constraint, review_json, inventory, outcome)
        return outcome

    def _evaluate_native(self, constraint: Constraint, native: NativeValidation, cel_data: Mapping[str, Any],
                         outcome: ReviewOutcome) -> None:
        template = self.templates[constraint.kind]
        result = evaluate_native(native, cel_data, constraint.obj)
        outcome.violations.extend(Violation(constraint, template, m, None, CEL_ENGINE) for m in result.messages)
        if result.error:
            outcome.errors.append(ReviewError(
                constraint,
                f"{constraint.rule_id}: template {template.name} ({template.path}:{template.native.line if template.native else template.line}) "
                f"K8sNativeValidation failed: {result.error}",
                "fix the template's CEL, or the object it cannot handle (failurePolicy: Ignore skips such errors)",
            ))

    def _evaluate(self, constraint: Constraint, review_json: str, inventory: Mapping[str, Any], outcome: ReviewOutcome) -> None:
        template = self.templates[constraint.kind]
        holder = self._engines.get(constraint.kind)
        try:
            holder.load_inventory(inventory)
            parameters = self._parameters_json.get(constraint.rule_id)
            if parameters is None:
                parameters = self._parameters_json[constraint.rule_id] = json.dumps(constraint.parameters, default=str)
            holder.engine.set_input_json(f'{{"review": {review_json}, "parameters": {parameters}}}')
            value = json.loads(holder.engine.eval_rule_as_json(template.violation_rule))
        except BaseException as exc:  # pyo3 panics are BaseExceptions
            reraise_interrupts(exc)
            holder.inventory = None  # the engine's data may be half-loaded: reload next time
            outcome.errors.append(self._error(constraint, template, exc))
            return
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict):
                message = item.get("msg")
                outcome.violations.append(
                    Violation(constraint, template, str(message) if message is not None else "", item.get("details"))
                )
            else:
                outcome.violations.append(Violation(constraint, template, str(item)))

    def _error(self, constraint: Constraint, template: ConstraintTemplate, exc: BaseException) -> ReviewError:
        text = str(exc)
        if "external_data" in text or isinstance(exc, ExternalDataMissing):
            detail = text.split("Stack backtrace:", 1)[0].strip().splitlines()[-1] if text.strip() else "external_data failed"
            return ReviewError(
                constraint,
                f"{constraint.rule_id}: template {template.name} calls external_data: {detail}",
                "give the provider's responses in gatekeeper.external_data in gate.yaml",
            )
        report = parse_regorus_error(exc)
        line = template.yaml_line(report.path, report.line) if report.path else template.line
        return ReviewError(
            constraint,
            f"{constraint.rule_id}: template {template.name} ({template.path}:{line}) failed: {report.message}",
            "fix the template's Rego, or the input it cannot handle",
        )


def _namespace_object(review: Review, inventory: Mapping[str, Any], labels: Mapping[str, str] | None) -> Mapping[str, Any] | None:
    """CEL's `namespaceObject`: the synced Namespace, else one carrying the labels the webhook gave."""
    if not review.namespace:
        return None
    synced = (((inventory.get("cluster") or {}).get("v1") or {}).get("Namespace") or {}).get(review.namespace)
    if isinstance(synced, dict):
        return synced
    if labels is not None:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": review.namespace, "labels": dict(labels)}}
    return None


@dataclass
class PolicyDocuments:
    """Templates and constraint documents found in policy files (constraints parsed later)."""

    templates: dict[str, ConstraintTemplate] = field(default_factory=dict)
    constraint_docs: list[Document] = field(default_factory=list)


def collect(documents: Sequence[Document], into: PolicyDocuments | None = None) -> PolicyDocuments:
    """Sort documents into templates and constraints; other documents are not policies and are left out."""
    found = into or PolicyDocuments()
    for doc in documents:
        if is_template(doc.obj):
            template = parse_template(doc)
            previous = found.templates.get(template.kind)
            if previous is not None and previous.path != template.path:
                raise PolicyError(
                    f"ConstraintTemplate {template.name} is defined twice (also in {previous.path})",
                    path=doc.path,
                    line=doc.start_line,
                    hint="keep one copy of each template",
                )
            found.templates[template.kind] = template
        elif is_constraint(doc.obj):
            found.constraint_docs.append(doc)
    return found


def compile_policies(
    found: PolicyDocuments, external_data: ExternalDataResponses | None = None, k8s_native_validation: bool = True
) -> GatekeeperPolicies:
    """Parse the constraints against the templates and compile every template once."""
    constraints = [parse_constraint(doc, found.templates) for doc in found.constraint_docs]
    seen: dict[str, str] = {}
    for constraint in constraints:
        if constraint.rule_id in seen and seen[constraint.rule_id] != constraint.path:
            raise PolicyError(
                f"constraint {constraint.kind}/{constraint.name} is defined twice (also in {seen[constraint.rule_id]})",
                path=constraint.path,
                line=constraint.line,
            )
        seen[constraint.rule_id] = constraint.path
    return GatekeeperPolicies(found.templates, constraints, external_data, k8s_native_validation)


def load_policies(
    paths: Sequence[Path],
    root: Path | None = None,
    external_data: ExternalDataResponses | None = None,
    k8s_native_validation: bool = True,
) -> GatekeeperPolicies:
    """Templates and constraints from files and directories, compiled; PolicyError for anything broken.

    Each listed path must hold a template or a constraint: a path that holds
    neither (a typo, the wrong directory) would silently check less.
    """
    found = PolicyDocuments()
    for listed in paths:
        policy_docs = 0
        for path in yaml_files([listed]):
            documents = read_documents(path, shown_path(path, root))
            policy_docs += sum(1 for d in documents if is_template(d.obj) or is_constraint(d.obj))
            collect(documents, found)
        if not policy_docs:
            raise PolicyError(
                "no ConstraintTemplate or constraint in this Gatekeeper policy path: it would check nothing",
                path=shown_path(Path(listed), root),
                hint="point gatekeeper.policies in gate.yaml at the template and constraint YAML files",
            )
    return compile_policies(found, external_data, k8s_native_validation)


