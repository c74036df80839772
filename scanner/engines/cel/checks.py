"""The CEL part every policy kind shares: matchConditions, variables, validations.

ValidatingAdmissionPolicy, Kyverno's ValidatingPolicy and `validate.cel`
rules, and Gatekeeper's K8sNativeValidation all carry the same blocks.
`compile_checks` compiles them once (a bad expression is a `PolicyError`
naming the field, the expression and the position); `run_checks` applies
Kubernetes' order on one request:

1. matchConditions: any that is false means the policy does not apply
   (skip); an error, when none is false, is an error.
2. variables, in order; each may read the ones before it. They are bound
   inside each expression that reads them (`cel.bind`); where that is not
   possible, or a bound expression fails, they are evaluated one by one and
   a variable that fails is left out, so only an expression that really
   reads it fails, with its error (Kubernetes evaluates variables lazily).
3. validations: a false expression is a violation with its message
   (`messageExpression` when it gives a non-empty string without line
   breaks, as Kubernetes requires, else `message`, else `failed expression: ...`);
   an expression that fails or does not give a bool is an error.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from scanner.engines.cel import external
from scanner.engines.cel.external import ExternalData
from scanner.engines.cel.library import LIBRARY_VARIABLES
from scanner.engines.cel.program import (
    DEFAULT_COST_LIMIT, KUBERNETES_VARIABLES, CelCompileError, CelEvaluationError, Program, activation,
    compile_expression, largest_collection,
)
from scanner.errors import PolicyError

SKIP, PASS, FAIL, ERROR = "skip", "pass", "fail", "error"


@dataclass(frozen=True)
class CompiledValidation:
    index: int
    program: Program
    message: str | None = None
    message_program: Program | None = None
    reason: str | None = None
    field_path: str | None = None  # Kubernetes' `fieldPath`: the field a violation is about


@dataclass(frozen=True)
class Inlined:
    """The validations, message expressions and audit annotations with the variables they read
    bound inside them (`cel.bind`), so values never leave CEL (durations, timestamps) and a
    variable is computed only by the expressions that read it, as Kubernetes does lazily."""

    validations: tuple[Program, ...]
    messages: tuple[Program | None, ...]
    audit_annotations: tuple[Program, ...]


@dataclass(frozen=True)
class CelChecks:
    """A policy's compiled CEL blocks, reusable for any number of objects."""

    match_conditions: tuple[tuple[str, Program], ...]
    variables: tuple[tuple[str, Program], ...]
    validations: tuple[CompiledValidation, ...]
    audit_annotations: tuple[tuple[str, Program], ...] = ()
    environment: tuple[str, ...] = KUBERNETES_VARIABLES
    inlined: Inlined | None = None  # None: variables are evaluated one by one instead


@dataclass
class Violation:
    index: int
    message: str
    reason: str | None = None
    field_path: str | None = None


@dataclass
class CheckOutcome:
    status: str  # skip | pass | fail | error
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None
    audit_annotations: dict[str, str] = field(default_factory=dict)


def _compile(expression: Any, where: str, what: str, environment: tuple[str, ...], path: str | None,
             line: int | None = None) -> Program:
    try:
        return compile_expression(str(expression) if expression is not None else "", environment)
    except CelCompileError as exc:
        raise PolicyError(f"{where}: {what}: {exc}", path=path, line=line,
                          hint="fix the CEL expression (cdgate type-checks it like the API server)") from None


def compile_checks(spec: dict[str, Any], where: str, environment: tuple[str, ...] = KUBERNETES_VARIABLES,
                   path: str | None = None, validations_key: str = "validations", line: int | None = None) -> CelChecks:
    """Compile `matchConditions`, `variables`, `validations` and `auditAnnotations` of `spec`.

    A bad expression is a PolicyError at `path`:`line` (the policy document's first line)."""
    conditions = []
    for i, item in enumerate(spec.get("matchConditions") or []):
        item = item if isinstance(item, dict) else {}
        name = str(item.get("name") or f"#{i}")
        conditions.append((name, _compile(item.get("expression"), where, f"matchConditions[{i}] ({name})", environment, path, line)))
    variables = []
    for i, item in enumerate(spec.get("variables") or []):
        item = item if isinstance(item, dict) else {}
        name = str(item.get("name") or "")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise PolicyError(f"{where}: variables[{i}] needs a name that is a CEL identifier, not {name!r}",
                              path=path, line=line)
        variables.append((name, _compile(item.get("expression"), where, f"variables[{i}] ({name})", environment, path, line)))
    validations = []
    for i, item in enumerate(spec.get(validations_key) or []):
        item = item if isinstance(item, dict) else {}
        program = _compile(item.get("expression"), where, f"{validations_key}[{i}].expression", environment, path, line)
        message_program = None
        if item.get("messageExpression"):
            message_program = _compile(item["messageExpression"], where, f"{validations_key}[{i}].messageExpression",
                                       environment, path, line)
        message = str(item["message"]) if item.get("message") else None
        reason = str(item["reason"]) if item.get("reason") else None
        field_path = str(item["fieldPath"]).lstrip(".") if item.get("fieldPath") else None
        validations.append(CompiledValidation(i, program, message, message_program, reason, field_path))
    annotations = []
    for i, item in enumerate(spec.get("auditAnnotations") or []):
        item = item if isinstance(item, dict) else {}
        annotations.append((str(item.get("key") or f"#{i}"),
                            _compile(item.get("valueExpression"), where, f"auditAnnotations[{i}]", environment, path, line)))
    inlined = _inline_all(variables, validations, annotations, environment) if variables else None
    return CelChecks(tuple(conditions), tuple(variables), tuple(validations), tuple(annotations), environment, inlined)


_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_VARIABLE_REF = re.compile(r"\bvariables\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\])")
_BOUND_PREFIX = "__cdgv_"


def _outside_literals(text: str, change: Any) -> str:
    """Apply `change` to the parts of `text` that are not string literals."""
    out, last = [], 0
    for match in _LITERAL.finditer(text):
        out.append(change(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(change(text[last:]))
    return "".join(out)


def _references(text: str) -> list[str]:
    """Names of the variables `text` reads (`variables.x` or `variables['x']`)."""
    names: list[str] = []

    def collect(part: str) -> str:
        names.extend(m.group(1) or m.group(2) for m in _VARIABLE_REF.finditer(part))
        return part

    _outside_literals(text, collect)
    return names


def _bind_variables(text: str, sources: dict[str, str], order: list[str]) -> str | None:
    """`text` with each variable it reads (directly or through others) bound by `cel.bind`."""
    needed: set[str] = set()
    pending = _references(text)
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        if name not in sources:
            return None
        needed.add(name)
        pending.extend(_references(sources[name]))
    if not needed:
        return None if _reads_variables_map(text) else text

    def rename(part: str) -> str:
        return _VARIABLE_REF.sub(lambda m: _BOUND_PREFIX + (m.group(1) or m.group(2)), part)

    result = _outside_literals(text, rename)
    for name in reversed([n for n in order if n in needed]):
        result = f"cel.bind({_BOUND_PREFIX}{name}, {_outside_literals(sources[name], rename)}, {result})"
    if _reads_variables_map(result):
        return None  # e.g. `variables['x']`: evaluate the variables one by one instead
    return result


def _reads_variables_map(text: str) -> bool:
    """Does `text` still name `variables` outside string literals?"""
    found: list[str] = []

    def collect(part: str) -> str:
        found.extend(re.findall(r"\bvariables\b", part))
        return part

    _outside_literals(text, collect)
    return bool(found)


def _inline_all(variables: list[tuple[str, Program]], validations: list[CompiledValidation],
                annotations: list[tuple[str, Program]], environment: tuple[str, ...]) -> Inlined | None:
    import dataclasses

    sources = {name: program.source for name, program in variables}
    order = [name for name, _ in variables]

    def inline(program: Program) -> Program | None:
        text = _bind_variables(program.source, sources, order)
        if text is None:
            return None
        if text == program.source:
            return program
        try:
            compiled = compile_expression(text, environment)
        except CelCompileError:
            return None
        return dataclasses.replace(compiled, source=program.source)

    checks = [inline(v.program) for v in validations]
    messages = [inline(v.message_program) if v.message_program is not None else None for v in validations]
    audits = [inline(program) for _, program in annotations]
    if any(p is None for p in checks + audits) or any(
            m is None and v.message_program is not None for m, v in zip(messages, validations)):
        return None
    return Inlined(tuple(p for p in checks if p is not None), tuple(messages), tuple(p for p in audits if p is not None))


_MISSING_KEY = re.compile(r'Key not found in map : "([^"]+)"')


def _failed_variable_read(error: CelEvaluationError, failed: dict[str, str]) -> str | None:
    """When an expression failed because it read a variable that had failed, that variable's error.

    Failed variables are left out of the `variables` map, so only an
    expression that really reads one fails (Kubernetes evaluates variables
    lazily: a variable nobody reads cannot fail a policy).
    """
    match = _MISSING_KEY.search(str(error))
    if match and match.group(1) in failed:
        return f"variable {match.group(1)!r} failed: {failed[match.group(1)]}"
    return None


class _Run:
    """One evaluation: the data, its activation and the failures seen so far."""

    def __init__(self, checks: CelChecks, data: dict[str, Any], cost_limit: int,
                 shared: dict[Any, Any] | None = None) -> None:
        self.checks = checks
        self.data = data
        self.cost_limit = cost_limit
        self.failed: dict[str, str] = {}
        self._activation: Any = None
        self._largest = -1
        self._shared = shared

    def base(self) -> None:
        """The activation without variables, shared by every policy that reviews the same data."""
        if self._shared is None:
            self.refresh()
            return
        key = ("activation", self.checks.environment)
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = activation(self.data, self.checks.environment)
        self._activation = found
        self._largest = -1

    def refresh(self) -> None:
        self._activation = activation(self.data, self.checks.environment)
        self._largest = -1  # measured when an expression with a comprehension first needs it

    def largest(self) -> int:
        """The largest list or map the expressions can iterate (objects measured once, see `_measured`)."""
        if self._largest < 0:
            sizes = [_measured(self.data.get(name)) for name in ("object", "oldObject", "params", "namespaceObject")]
            for value in (self.data.get("variables") or {}).values():
                if isinstance(value, (list, dict)):
                    sizes.append(len(value))
            self._largest = max(sizes)
        return self._largest

    def value(self, program: Program) -> Any:
        if self._activation is None:
            self.base()
        try:
            return program.evaluate(self._activation, self.largest() if program.depth else 0, self.cost_limit)
        except CelEvaluationError as exc:
            problem = _failed_variable_read(exc, self.failed) if self.failed else None
            if problem:
                raise CelEvaluationError(problem) from None
            raise


@functools.lru_cache(maxsize=8)
def _defaults(environment: tuple[str, ...]) -> dict[str, Any]:
    """Every variable of the environment bound (libraries to their marker map, data to null)."""
    out: dict[str, Any] = {name: {} if name in LIBRARY_VARIABLES else None
                           for name in environment}
    out["variables"] = {}
    return out


_MEASURED: dict[int, tuple[Any, int]] = {}
_MEASURED_LOCK = threading.Lock()


def _measured(value: Any) -> int:
    """`largest_collection(value)`, remembered for the last objects seen: one object is
    checked by many policies, and walking it each time would cost more than the CEL."""
    if not isinstance(value, (dict, list)):
        return 0
    key = id(value)
    found = _MEASURED.get(key)
    if found is not None and found[0] is value:
        return found[1]
    size = largest_collection(value)
    with _MEASURED_LOCK:
        if len(_MEASURED) >= 256:
            _MEASURED.clear()
        _MEASURED[key] = (value, size)
    return size


def _describe(program: Program, exc: Exception) -> str:
    flat = " ".join(program.source.split())
    shown = flat if len(flat) <= 160 else flat[:157] + "..."
    return f"expression {shown!r}: {exc}"


def run_checks(checks: CelChecks, data: dict[str, Any], data_source: ExternalData | None = None,
               cost_limit: int = DEFAULT_COST_LIMIT, shared: dict[Any, Any] | None = None,
               _one_by_one: bool = False) -> CheckOutcome:
    """Apply `checks` to one request's `data` (object, oldObject, request, params, ...).

    `shared` is a cache owned by the caller for this one `data`: policies that
    review the same object reuse its activation instead of converting it again.
    """
    data = {**_defaults(checks.environment), **data}
    data["authorizer"] = {}  # offline: every authorizer call fails with an error saying so
    with external.bound(data_source):
        run = _Run(checks, data, cost_limit, shared)
        errors = []
        for name, program in checks.match_conditions:
            try:
                matched = run.value(program)
            except CelEvaluationError as exc:
                errors.append(f"matchCondition {name!r}: {_describe(program, exc)}")
                continue
            if not isinstance(matched, bool):
                errors.append(f"matchCondition {name!r}: expression must return a bool, got {type(matched).__name__}")
            elif not matched:
                return CheckOutcome(SKIP)
        if errors:
            return CheckOutcome(ERROR, error="; ".join(errors))
        inlined = checks.inlined if not data.get("variables") and not _one_by_one else None
        if checks.variables and inlined is None:
            seeded = dict(data.get("variables") or {})  # callers may seed some (Gatekeeper)
            values: dict[str, Any] = seeded
            for position, (name, program) in enumerate(checks.variables):
                if position == 0 and not data.get("variables"):
                    run.base()  # nothing bound yet: the shared activation serves
                else:
                    run.refresh()
                try:
                    values[name] = run.value(program)
                except CelEvaluationError as exc:
                    run.failed[name] = str(exc)
                data["variables"] = values
            run.refresh()
        outcome = CheckOutcome(PASS)
        for position, validation in enumerate(checks.validations):
            program = inlined.validations[position] if inlined else validation.program
            message_program = inlined.messages[position] if inlined else validation.message_program
            try:
                verdict = run.value(program)
            except CelEvaluationError as exc:
                errors.append(f"validations[{validation.index}]: {_describe(validation.program, exc)}")
                continue
            if not isinstance(verdict, bool):
                errors.append(f"validations[{validation.index}]: expression {validation.program.source!r} "
                              f"must return a bool, got {type(verdict).__name__}")
                continue
            if not verdict:
                outcome.violations.append(Violation(validation.index, _message(run, validation, message_program),
                                                    validation.reason, validation.field_path))
        annotations = zip([k for k, _ in checks.audit_annotations], inlined.audit_annotations) if inlined \
            else checks.audit_annotations
        for key, program in annotations:
            try:
                value = run.value(program)
            except CelEvaluationError:
                continue
            if isinstance(value, str) and value:
                outcome.audit_annotations[key] = value
        if errors and inlined is not None:
            # A bound variable is computed even where the expression would not read it; evaluate the
            # variables one by one (lazily, as Kubernetes does) before calling this an error.
            return run_checks(checks, data, data_source, cost_limit, shared, _one_by_one=True)
        if outcome.violations:
            outcome.status = FAIL  # a false validation denies whatever else failed to evaluate
            outcome.error = "; ".join(errors) or None
        elif errors:
            outcome.status, outcome.error = ERROR, "; ".join(errors)
        return outcome


def _message(run: _Run, validation: CompiledValidation, message_program: Program | None) -> str:
    if message_program is not None:
        try:
            text = run.value(message_program)
        except CelEvaluationError:
            text = None
        # Kubernetes rejects a result with a line break (and an empty one) and falls back
        if isinstance(text, str) and text.strip() and "\n" not in text.strip():
            return text.strip()
    if validation.message:
        return validation.message
    return f"failed expression: {validation.program.source.strip()}"
