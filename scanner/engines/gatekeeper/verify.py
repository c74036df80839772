"""`gator verify` suites: `suite.yaml` files of tests, cases and assertions.

A suite (`kind: Suite`, `test.gatekeeper.sh/v1alpha1`) lists tests; each
test names a template and a constraint file and holds cases. A case reviews
the one object in its `object` file (a plain object, or an AdmissionReview
whose `request` is reviewed as is), with `data.inventory` built from its
`inventory` files, and checks every assertion: `violations` is `yes` (the
default: at least one), `no`, or an exact count, of the violations whose
message matches the assertion's `message` regular expression when it has
one. A test marked `invalid: true` passes only when its constraint fails the
template's parameter schema. `skip: true` skips a suite, test or case.

Templates run the engine Gatekeeper picks (`gator verify` enables
K8sNativeValidation by default, so a template carrying CEL runs its CEL);
`k8s_native_validation=False` runs their Rego instead, as
`gator verify --enable-k8s-native-validation=false` does. Each test records
the engine that ran.

Scoring is strict: a case passes only when it ran and every assertion held;
a suite passes only when every test and case in it did. Any error (a file
that cannot be read, a template that does not compile, an evaluation error)
fails the case or test that met it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from scanner.engines.gatekeeper.client import GatekeeperPolicies, PolicyDocuments, Violation, collect, compile_policies
from scanner.engines.gatekeeper.constraint import ParameterSchemaError
from scanner.engines.gatekeeper.files import read_documents
from scanner.engines.gatekeeper.review import Review, admission_review, build_inventory, object_review
from scanner.errors import CdgateError, PolicyError

SUITE_FILENAMES = ("suite.yaml", "suite.yml")
ADMISSION_GROUP = "admission.k8s.io"


@dataclass
class AssertionResult:
    text: str  # what was asserted, for the report
    passed: bool
    detail: str = ""


@dataclass
class CaseResult:
    name: str
    skipped: bool = False
    error: str = ""
    assertions: list[AssertionResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # the violations the case saw

    @property
    def passed(self) -> bool:
        return self.skipped or (not self.error and bool(self.assertions) and all(a.passed for a in self.assertions))


@dataclass
class TestResult:
    name: str
    skipped: bool = False
    error: str = ""
    cases: list[CaseResult] = field(default_factory=list)
    engine: str = ""  # the template code that ran: Rego or K8sNativeValidation ("" when none ran)

    @property
    def passed(self) -> bool:
        return self.skipped or (not self.error and all(c.passed for c in self.cases))


@dataclass
class SuiteResult:
    path: str
    skipped: bool = False
    error: str = ""
    tests: list[TestResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Strict: the suite ran, had something to check, and everything in it held."""
        ran = [t for t in self.tests if not t.skipped]
        return self.skipped or (not self.error and bool(ran) and all(t.passed for t in self.tests))

    def counts(self) -> tuple[int, int]:
        """(cases passed, cases run), skipped cases left out."""
        cases = [c for t in self.tests for c in t.cases if not c.skipped]
        return sum(c.passed for c in cases), len(cases)


def find_suites(paths: list[str | Path]) -> list[Path]:
    """Every suite.yaml named or found under `paths`, sorted; a missing path is a PolicyError."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.name in SUITE_FILENAMES and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise PolicyError("suite path not found", path=str(raw), hint="pass suite.yaml files or directories holding them")
    return found


def _single(path: Path, what: str) -> Mapping[str, Any]:
    docs = read_documents(path)
    if len(docs) != 1:
        raise PolicyError(f"the {what} file defines {len(docs)} objects, not one", path=path.as_posix())
    obj = docs[0].obj
    if not isinstance(obj, dict):
        raise PolicyError(f"the {what} is not a mapping", path=path.as_posix(), line=docs[0].start_line)
    return obj


def run_suite(suite_path: Path, k8s_native_validation: bool = True) -> SuiteResult:
    """Run one suite file; never raises for a problem in the suite (it becomes the result's error)."""
    result = SuiteResult(suite_path.as_posix())
    try:
        docs = read_documents(suite_path)
        suite = docs[0].obj if len(docs) == 1 else None
        if not isinstance(suite, dict) or suite.get("kind") != "Suite":
            raise PolicyError("not a gator Suite (kind: Suite)", path=suite_path.as_posix(), line=1)
    except CdgateError as exc:
        result.error = str(exc)
        return result
    if suite.get("skip") is True:
        result.skipped = True
        return result
    compiled: dict[tuple[str, str], GatekeeperPolicies] = {}
    for i, test in enumerate(suite.get("tests") or []):
        if not isinstance(test, dict):
            result.tests.append(TestResult(f"tests[{i}]", error="a test must be a mapping"))
            continue
        result.tests.append(_run_test(test, suite_path.parent, compiled, k8s_native_validation))
    if not result.tests:
        result.error = "the suite has no tests"
    return result


def _run_test(
    test: Mapping[str, Any], base: Path, compiled: dict[tuple[str, str], GatekeeperPolicies], k8s_native_validation: bool
) -> TestResult:
    result = TestResult(str(test.get("name") or "?"))
    if test.get("skip") is True:
        result.skipped = True
        return result
    template_file, constraint_file = test.get("template"), test.get("constraint")
    if not template_file or not constraint_file:
        result.error = "a test needs a template and a constraint"
        return result
    key = (str(template_file), str(constraint_file))
    try:
        policies = compiled.get(key)
        if policies is None:
            found = PolicyDocuments()
            collect(read_documents(base / str(template_file)), found)
            if not found.templates:
                raise PolicyError("no ConstraintTemplate in the template file", path=(base / str(template_file)).as_posix())
            constraint_docs = read_documents(base / str(constraint_file))
            found.constraint_docs.extend(constraint_docs)
            if len(found.constraint_docs) != 1:
                raise PolicyError(
                    f"the constraint file defines {len(found.constraint_docs)} constraints, not one",
                    path=(base / str(constraint_file)).as_posix(),
                )
            policies = compile_policies(found, k8s_native_validation=k8s_native_validation)
            compiled[key] = policies
    except ParameterSchemaError as exc:
        if test.get("invalid") is True:
            return result  # an invalid constraint, rejected by the schema as the test expects
        result.error = str(exc)
        return result
    except CdgateError as exc:
        result.error = str(exc)
        return result
    if test.get("invalid") is True:
        result.error = "the test says the constraint is invalid, but its parameters pass the template's schema"
        return result
    result.engine = policies.engine_of(policies.constraints[0].kind)
    for i, case in enumerate(test.get("cases") or []):
        if not isinstance(case, dict):
            result.cases.append(CaseResult(f"cases[{i}]", error="a case must be a mapping"))
            continue
        result.cases.append(_run_case(case, base, policies))
    return result


def _review_for(obj: Mapping[str, Any]) -> Review:
    api_version = str(obj.get("apiVersion") or "")
    if obj.get("kind") == "AdmissionReview" and api_version.startswith(ADMISSION_GROUP + "/"):
        request = obj.get("request")
        if not isinstance(request, dict):
            raise PolicyError("the AdmissionReview has no request")
        if not request.get("object") and not request.get("oldObject"):
            raise PolicyError("the AdmissionReview's request has neither object nor oldObject to review")
        return admission_review(request)
    return object_review(obj)


def _run_case(case: Mapping[str, Any], base: Path, policies: GatekeeperPolicies) -> CaseResult:
    result = CaseResult(str(case.get("name") or "?"))
    if case.get("skip") is True:
        result.skipped = True
        return result
    assertions = case.get("assertions") or []
    if not case.get("object"):
        result.error = "the case must name an object"
        return result
    if not assertions:
        result.error = "the case must have at least one assertion"
        return result
    try:
        review = _review_for(_single(base / str(case["object"]), "object"))
        inventory_objects: list[Mapping[str, Any]] = []
        for inventory_file in case.get("inventory") or []:
            inventory_objects.extend(d.obj for d in read_documents(base / str(inventory_file)) if isinstance(d.obj, dict))
        outcome = policies.review(review, build_inventory(inventory_objects), all_actions=True)
    except CdgateError as exc:
        result.error = str(exc)
        return result
    if outcome.errors:
        result.error = "; ".join(e.message for e in outcome.errors)
        return result
    result.messages = [v.message for v in outcome.violations]
    for assertion in assertions:
        result.assertions.append(check_assertion(assertion, outcome.violations))
    return result


def _expected(raw: Any) -> str | int:
    """`violations` as gator reads it: yes, no or a count (YAML 1.1 booleans are yes/no)."""
    if raw is None or raw is True:
        return "yes"
    if raw is False:
        return "no"
    if isinstance(raw, int):
        if raw < 0:
            raise ValueError("violations must be a non-negative integer, yes or no")
        return raw
    text = str(raw).strip()
    if text in ("yes", "no"):
        return text
    if text.isdigit():
        return int(text)
    raise ValueError(f"violations must be a non-negative integer, yes or no, not {raw!r}")


def check_assertion(assertion: Any, violations: list[Violation]) -> AssertionResult:
    """One assertion against the case's violations."""
    if not isinstance(assertion, dict):
        return AssertionResult(repr(assertion), False, "an assertion must be a mapping")
    message = assertion.get("message")
    suffix = f", message: {message}" if message is not None else ""
    try:
        expected = _expected(assertion.get("violations"))
        text = f"violations: {expected}{suffix}"
        pattern = re.compile(str(message)) if message is not None else None
    except (ValueError, re.error) as exc:
        return AssertionResult(f"violations: {assertion.get('violations')}{suffix}", False, f"invalid assertion: {exc}")
    matching = sum(1 for v in violations if pattern is None or pattern.search(v.message))
    messages = [v.message for v in violations]
    if expected == "yes":
        ok = matching > 0
    elif expected == "no":
        ok = matching == 0
    else:
        ok = matching == expected
    detail = "" if ok else f"got {matching} matching violations; messages: {messages}"
    return AssertionResult(text, ok, detail)
