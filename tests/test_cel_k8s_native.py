"""Gatekeeper K8sNativeValidation code from the gatekeeper-library corpus, on the suite's own objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scanner.engines.cel.k8s_native import NativeValidationError, evaluate_native_validation

LIBRARY = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "gatekeeper-library" / "library"


def _native_source(template: Path) -> dict:
    doc = yaml.safe_load(template.read_text())
    for target in doc["spec"]["targets"]:
        for code in target.get("code") or []:
            if code.get("engine") == "K8sNativeValidation":
                return code["source"]
    raise AssertionError("no K8sNativeValidation code")


def _suite_cases() -> list[tuple[str, dict, dict, int]]:
    """(name, object, parameters, expected violation count) for every case of the suites whose
    template has CEL, except cases that need an inventory or match on a message."""
    cases: list[tuple[str, dict, dict, int]] = []
    if not LIBRARY.is_dir():
        return cases
    for suite in sorted(LIBRARY.rglob("suite.yaml")):
        spec = yaml.safe_load(suite.read_text())
        template = suite.parent / spec.get("tests", [{}])[0].get("template", "")
        if not template.is_file() or "K8sNativeValidation" not in template.read_text():
            continue
        for test in spec.get("tests") or []:
            constraint = yaml.safe_load((suite.parent / test["constraint"]).read_text())
            parameters = (constraint.get("spec") or {}).get("parameters") or {}
            for case in test.get("cases") or []:
                if case.get("inventory"):
                    continue
                obj = yaml.safe_load((suite.parent / case["object"]).read_text())
                if obj.get("kind") == "AdmissionReview":  # gator reviews the request it carries
                    obj = {"__review__": obj.get("request") or {}}
                for assertion in case.get("assertions") or []:
                    if "message" in assertion:
                        continue
                    wanted = assertion.get("violations")
                    count = {"yes": -1, "no": 0}.get(wanted, wanted)
                    cases.append((f"{suite.parent.name}/{test.get('name', '')}/{case['name']}", obj, parameters,
                                  int(count)))
                    break
    return cases


CASES = _suite_cases()


def test_cases_were_found() -> None:
    if not LIBRARY.is_dir():
        pytest.skip("gatekeeper-library corpus missing")
    assert len(CASES) >= 50


@pytest.mark.parametrize(("name", "obj", "parameters", "expected"), CASES, ids=[c[0] for c in CASES])
def test_native_validation_matches_gator(name: str, obj: dict, parameters: dict, expected: int) -> None:
    template = next(p for p in LIBRARY.rglob("template.yaml") if p.parent.name == name.split("/")[0])
    review = obj.get("__review__")
    if review is not None:
        violations = evaluate_native_validation(_native_source(template), review.get("object"), review.get("oldObject"),
                                                parameters, {k: v for k, v in review.items()
                                                             if k not in ("object", "oldObject")})
    else:
        violations = evaluate_native_validation(_native_source(template), obj, None, parameters, {"operation": "CREATE"})
    # gator's counts come from the template's Rego (one per container); CEL gives one per
    # failed validation, so the CEL engine is held to whether it reports any violation.
    assert bool(violations) == (expected != 0), (name, violations)


def test_broken_source_raises_naming_the_expression() -> None:
    with pytest.raises(NativeValidationError, match=r"validations\[0\].expression.*1:"):
        evaluate_native_validation({"validations": [{"expression": "variables.anyObject.("}]}, {"kind": "Pod"})


def test_runtime_failure_is_an_error_not_a_pass() -> None:
    source = {"validations": [{"expression": "variables.params.max >= 1"}]}
    with pytest.raises(NativeValidationError, match="params.max"):
        evaluate_native_validation(source, {"kind": "Pod"}, params={})
