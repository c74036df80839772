"""Rego on regorus's compiled VM gives the interpreter's answers, and falls back to it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scanner.engines.base import EvaluationRequest
from scanner.engines.rego import compile_for_profile
from scanner.inputs.loader import LoadOptions, load_targets
from scanner.profile import Profile, load_profile
from scanner.webhook.rego_vm import VmRegoPolicySet

REPO = Path(__file__).resolve().parents[2]


def comparable(results) -> list[tuple]:
    return sorted((r.policy, r.rule_id or "", r.level.value, r.json_path or "", r.message, r.document.index if r.document else -1,
                   r.document.path if r.document else "") for r in results)


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """The example repo for every environment, and the manifests benchmark's generated services (flaws included)."""
    sys.path.insert(0, str(REPO / "benchmarks" / "manifests"))
    try:
        from generate import generate
    finally:
        sys.path.pop(0)
    generated = generate(6, tmp_path_factory.mktemp("generated"))
    docs = []
    for env in (None, "dev", "prod"):
        docs += load_targets([str(REPO / "examples" / "cd-repo")], LoadOptions(root=REPO, environment=env)).documents
    docs += load_targets([str(generated)], LoadOptions(root=generated)).documents
    resources = [d for d in docs if d.is_resource]
    assert len(resources) > 100
    return resources


@pytest.mark.parametrize("profile_path", [None, REPO / "examples" / "cd-repo" / "gate.yaml"], ids=["default", "example"])
def test_vm_and_interpreter_agree_on_every_document(documents, profile_path):
    profile = load_profile(profile_path).for_environment("prod") if profile_path else Profile()
    interpreter = compile_for_profile(profile, REPO)
    interpreter.repo_packages = []  # the VM set carries document packages only; compare like with like
    vm = VmRegoPolicySet(compile_for_profile(profile, REPO))
    expected = interpreter.evaluate(EvaluationRequest(documents, "prod"))
    got = vm.evaluate(EvaluationRequest(documents, "prod"))
    assert len(expected) > 50
    assert comparable(got) == comparable(expected)
    assert vm.vm_fallbacks == 0  # the VM answered every document itself


def test_interpreter_answers_when_the_vm_cannot_compile(documents, monkeypatch):
    import regorus

    def refuse(*_args):
        raise RuntimeError("not supported by the VM")

    monkeypatch.setattr(regorus.Program, "compile_from_modules", refuse)
    interpreter = compile_for_profile(Profile(), REPO)
    interpreter.repo_packages = []
    vm = VmRegoPolicySet(compile_for_profile(Profile(), REPO))
    sample = documents[:20]
    assert comparable(vm.evaluate(EvaluationRequest(sample))) == comparable(interpreter.evaluate(EvaluationRequest(sample)))
    assert vm.vm_fallbacks == len(sample)
