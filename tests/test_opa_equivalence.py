"""Issue 8, problem 7: the bundled policies decide the same under regorus and real OPA.

A team that takes the bundled policies to conftest or Gatekeeper runs them on
real OPA (the Go library, through `opa-golib-python-bindings`). Every bundled
package's `deny` and `warn` sets are computed by both engines for the example
CD repo (every environment), Gatekeeper's sample objects from the shared
corpus and a few documents with the fields missing that the two engines
treat differently; the sets must be identical. Every `*_test.rego` must pass
under real OPA too.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, REPO
from scanner.engines.rego import BUNDLED_REGO_DIR, RegoPolicySet, new_engine
from scanner.engines.rego_sources import discover, load_data_files
from scanner.engines.rego_testing import find_test_rules
from scanner.inputs.loader import LoadOptions, load_file, load_targets
from scanner.merging import deep_merge

EQUIVALENCE_PACKAGE = "cdgate_equivalence"

#: Documents shaped to hit what regorus and OPA evaluate differently (missing fields under `not`).
EDGE_DOCUMENTS: list[dict[str, Any]] = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "no-probes", "namespace": "shop"},
     "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "x"}]}}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "odd-sysctl"},
     "spec": {"securityContext": {"sysctls": [{"value": "1"}, {"name": "kernel.msgmax", "value": "1"}]},
              "containers": [{"name": "a", "image": "nginx", "env": [{"name": "DB_PASSWORD"}]}]}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb", "namespace": "shop"},
     "spec": {"selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {}},
]


def policy_sources() -> tuple[dict[str, str], dict[str, Any]]:
    found = discover([BUNDLED_REGO_DIR])
    policies = {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8") for p in found.policies}
    return policies, load_data_files(list(found.data))


@lru_cache(maxsize=1)
def bundled_packages() -> tuple[list[str], list[str]]:
    """Per-document and repo-mode package result refs (`data.pkg.deny`...)."""
    compiled = RegoPolicySet.compile([BUNDLED_REGO_DIR])
    assert compiled.document_packages and compiled.repo_packages
    refs = lambda pkgs: [f"data.{p.name}.{rule}" for p in pkgs for rule in p.rules]  # noqa: E731
    return refs(compiled.document_packages), refs(compiled.repo_packages)


def results_module(refs: list[str]) -> str:
    fields = ", ".join(f'"{ref}": [x | some x in {ref}]' for ref in refs)
    return f"package {EQUIVALENCE_PACKAGE}\nimport rego.v1\nresults := {{{fields}}}\n"


class Engines:
    """regorus and real OPA holding the same policies and data for one environment."""

    def __init__(self, environment: str | None, refs: list[str]) -> None:
        from opa_bindings.engine import OpaEngine

        policies, data = policy_sources()
        policies = {**policies, "equivalence.rego": results_module(refs)}
        data = deep_merge(data, {"cdgate_context": {"environment": environment}})
        self.regorus = new_engine(policies, data)
        self.opa = OpaEngine()
        for path, text in policies.items():
            self.opa.add_policy(path, text)
        self.opa.add_data(data)

    def decisions(self, value: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        [pair] = self.decide_all([value])
        return pair

    def decide_all(self, values: list[Any]) -> list[tuple[dict[str, list[str]], dict[str, list[str]]]]:
        """Both engines' results for each input; OPA evaluates them all in one query (it is slow per call)."""
        ours = []
        for value in values:
            self.regorus.set_input_json(json.dumps(value))
            ours.append(json.loads(self.regorus.eval_rule_as_json(f"data.{EQUIVALENCE_PACKAGE}.results")))
        query = f"x = [r | some doc in input; r := data.{EQUIVALENCE_PACKAGE}.results with input as doc]"
        [binding] = self.opa.eval_query(query, values)
        assert len(binding["x"]) == len(values)
        return [(_canonical(a), _canonical(b)) for a, b in zip(ours, binding["x"])]


def _canonical(results: dict[str, list[Any]]) -> dict[str, list[str]]:
    return {ref: sorted(json.dumps(item, sort_keys=True) for item in items) for ref, items in results.items()}


def example_documents(environment: str) -> list[dict[str, Any]]:
    loaded = load_targets([REPO / "examples" / "cd-repo"], LoadOptions(root=REPO, environment=environment))
    return [d.obj for d in loaded.documents if d.is_resource]


def gatekeeper_samples() -> list[dict[str, Any]]:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside the repo")
    documents = []
    for path in sorted((CORPUS / "gatekeeper-library").rglob("example_*.yaml")):
        documents.extend(d.obj for d in load_file(path, path.name) if d.is_resource)
    return documents


def assert_same(engines: Engines, values: list[Any]) -> int:
    """Every input decides the same under both engines; returns how many results there were."""
    total = 0
    for value, (ours, theirs) in zip(values, engines.decide_all(values)):
        assert ours.keys() == theirs.keys()
        differing = {ref: (ours[ref], theirs[ref]) for ref in ours if ours[ref] != theirs[ref]}
        assert not differing, f"{_name(value)}: regorus and OPA disagree: {differing}"
        total += sum(len(v) for v in ours.values())
    return total


def _name(value: Any) -> str:
    meta = value.get("metadata", {}) if isinstance(value, dict) else {}
    return f"{value.get('kind') if isinstance(value, dict) else '?'}/{meta.get('name') if isinstance(meta, dict) else '?'}"


@pytest.mark.slow
@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_example_repo_decisions_are_identical(environment):
    document_refs, repo_refs = bundled_packages()
    documents = example_documents(environment)
    assert len(documents) > 10
    engines = Engines(environment, document_refs)
    assert assert_same(engines, documents) > 0  # the example plants violations: both engines must find them
    repo_engines = Engines(environment, repo_refs)
    everything = documents + EDGE_DOCUMENTS  # the edge Deployment's namespace has no quota nor policy
    payload = {"documents": [{"index": i, "path": "x", "contents": d} for i, d in enumerate(everything)]}
    assert assert_same(repo_engines, [payload]) > 0


@pytest.mark.slow
def test_gatekeeper_samples_and_edge_documents_decide_the_same():
    document_refs, _ = bundled_packages()
    documents = gatekeeper_samples() + EDGE_DOCUMENTS
    assert len(documents) > 100
    engines = Engines("prod", document_refs)
    assert assert_same(engines, documents) > len(documents)  # most samples violate something: the comparison is not of empty sets


def test_the_edge_documents_are_the_ones_that_used_to_differ():
    """probes.rego and the NotIn selector relied on regorus' `not f(x[missing])`; both now fire under OPA."""
    document_refs, _ = bundled_packages()
    engines = Engines(None, document_refs)
    _, opa = engines.decisions(EDGE_DOCUMENTS[0])
    probe_rules = [json.loads(item)["rule_id"] for item in opa["data.cdgate.k8s.probes.deny"]]
    assert sorted(probe_rules) == ["CDG-K8S-050", "CDG-K8S-050", "CDG-K8S-051", "CDG-K8S-051"]


def test_every_bundled_policy_test_passes_under_real_opa():
    from opa_bindings.engine import OpaEngine

    policies, data = policy_sources()
    engine = OpaEngine()
    for path, text in policies.items():
        engine.add_policy(path, text)
    engine.add_data(data)
    tests = []
    for path, text in sorted(policies.items()):
        if path.endswith("_test.rego"):
            package, rules = find_test_rules(Path(path), text)
            tests.extend(f"{package}.{name}" for name, _line in rules)
    assert len(tests) > 150
    # one query for all tests (each call to the OPA library costs ~0.5 s with these policies);
    # a comprehension keeps an undefined (failing) test from hiding the others
    fields = ", ".join(f'"{test}": [v | v := {test}]' for test in tests)
    [binding] = engine.eval_query(f"x = {{{fields}}}", {})
    failed = [test for test in tests if binding["x"][test] != [True]]
    assert failed == []
