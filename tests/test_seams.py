"""The gate and engine seams: one finding factory, engines shared by threads, failures fail closed."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.catalog import BUNDLED_RULES_DIR, load_catalog
from scanner.engines.base import EvaluationRequest, RawResult
from scanner.findings import Outcome, Severity
from scanner.gates.base import GateContext, GateRun
from scanner.gates.manifest import ManifestGate, create as create_manifest_gate
from scanner.gates.pipeline import CheckRequest, run_check, run_gates
from scanner.inputs.loader import LoadOptions, load_targets
from scanner.profile import Profile, load_profile

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "cd-repo"

PRIVILEGED_TAGGED_POD = """apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      image: registry.example.internal/shop/web:1.2.3
      securityContext: {privileged: true}
"""


def _catalogue_with(tmp_path: Path, severities: dict[str, str]) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(BUNDLED_RULES_DIR, rules)
    for rule_id, severity in severities.items():
        entry = rules / f"{rule_id}.yaml"
        data = yaml.safe_load(entry.read_text())
        assert data["severity"] != severity, "pick a severity the bundled catalogue does not already use"
        data["severity"] = severity
        entry.write_text(yaml.safe_dump(data))
    return rules


def test_a_catalogue_severity_change_reaches_both_gates_findings(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_TAGGED_POD)
    (tmp_path / "gate.yaml").write_text("version: 1\ngates:\n  manifest: {}\n  signature: {offline: true}\n")
    profile = load_profile(tmp_path / "gate.yaml")
    bundled = load_catalog()
    privileged_rule, not_pinned_rule = "CDG-K8S-001", "CDG-SUP-001"
    changed = {
        privileged_rule: "low" if bundled.rules[privileged_rule].severity is not Severity.LOW else "medium",
        not_pinned_rule: "info" if bundled.rules[not_pinned_rule].severity is not Severity.INFO else "medium",
    }
    catalog = load_catalog(_catalogue_with(tmp_path, changed))
    verdict = run_check(CheckRequest([str(tmp_path / "pod.yaml")], profile, root=tmp_path, catalog=catalog))

    by_rule = {f.rule_id: f for f in verdict.findings}
    assert by_rule[privileged_rule].gate == "manifest"
    assert by_rule[not_pinned_rule].gate == "signature"
    for rule_id, severity in changed.items():
        assert by_rule[rule_id].severity.value == severity
        assert by_rule[rule_id].title == catalog.rules[rule_id].title


def _example_documents() -> list[Any]:
    loaded = load_targets([str(EXAMPLE)], LoadOptions(root=EXAMPLE, environment="prod"))
    resources = [d for d in loaded.documents if d.is_resource]
    assert len(resources) > 10
    return resources


def _comparable(results: list[RawResult]) -> list[tuple[Any, ...]]:
    return sorted(
        (r.engine, r.rule_id or r.policy, r.level.value, r.message, r.json_path, r.document.path if r.document else None)
        for r in results
    )


def test_one_compiled_policy_set_from_eight_threads_equals_a_serial_run() -> None:
    """In process, as the webhook's worker threads evaluate (CI runs isolate Rego in forked workers instead)."""
    from scanner.engines.base import AdmissionRequest

    profile = load_profile(EXAMPLE / "gate.yaml").for_environment("prod")
    gate = create_manifest_gate(profile, EXAMPLE)
    documents = _example_documents()
    admission = AdmissionRequest()
    serial = _comparable(gate.evaluate(EvaluationRequest(documents, "prod", admission)))
    assert serial, "the example repo has planted violations"

    start = threading.Barrier(8)

    def evaluate_in_thread(_: int) -> list[tuple[Any, ...]]:
        start.wait()  # all eight evaluate at once
        return _comparable(gate.evaluate(EvaluationRequest(documents, "prod", admission)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(evaluate_in_thread, range(8)))
    assert len(parallel) == 8
    for result in parallel:
        assert result == serial


def test_environments_evaluate_independently_on_one_compiled_set() -> None:
    """The environment is passed per evaluation: prod and dev runs interleave without leaking context."""
    profile = load_profile(EXAMPLE / "gate.yaml")
    gate = create_manifest_gate(profile, EXAMPLE)
    documents = _example_documents()
    prod_first = _comparable(gate.evaluate(EvaluationRequest(documents, "prod")))
    dev = _comparable(gate.evaluate(EvaluationRequest(documents, "dev")))
    prod_again = _comparable(gate.evaluate(EvaluationRequest(documents, "prod")))
    assert prod_first == prod_again
    assert prod_first != dev  # require_digest_environments: [prod] makes prod stricter


class MisusedRegorusEngine:
    """A real regorus engine used from a thread that did not make it: regorus panics (pyo3 PanicException)."""

    name = "misused-regorus"
    policy_count = 1

    def __init__(self) -> None:
        import regorus

        self.engine = regorus.Engine()
        self.engine.add_policy("p.rego", "package p\nimport rego.v1\ndeny contains 1 if true\n")

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self.engine.eval_rule("data.p.deny")
            except BaseException as exc:  # noqa: BLE001 - the point of the test
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
        assert errors, "regorus no longer panics across threads: this fake needs another way to panic"
        raise errors[0]


def test_an_engine_panic_is_an_error_finding_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(PRIVILEGED_TAGGED_POD)
    documents = load_targets([str(tmp_path / "pod.yaml")], LoadOptions(root=tmp_path)).documents
    profile = Profile()
    context = GateContext(documents, profile, load_catalog(), tmp_path, dt.date.today())
    [result] = run_gates([ManifestGate([MisusedRegorusEngine()])], context)
    [finding] = result.findings
    assert finding.outcome is Outcome.ERROR
    assert finding.rule_id == "CDG-ERR-003"
    assert "misused-regorus" in finding.message and "PanicException" in finding.message


class RaisingGate:
    """A gate whose run raises: the pipeline reports it, never passes."""

    name = "raising"
    concurrent = True

    def run(self, context: GateContext) -> GateRun:
        raise RuntimeError("registry client exploded")


def test_a_gate_that_raises_is_an_error_not_a_pass(tmp_path: Path) -> None:
    context = GateContext([], Profile(), load_catalog(), tmp_path, dt.date.today())
    [result] = run_gates([RaisingGate()], context)
    [finding] = result.findings
    assert finding.outcome is Outcome.ERROR and finding.gate == "raising"
    assert "registry client exploded" in finding.message


IMMUTABLE_TEAM_POLICY = """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: immutable-team}
spec:
  validationFailureAction: Enforce
  rules:
    - name: team-label-unchanged
      match: {any: [{resources: {kinds: [Pod], operations: [UPDATE]}}]}
      validate:
        message: "the team label cannot change from {{ request.oldObject.metadata.labels.team }}"
        deny:
          conditions:
            any:
              - key: "{{ request.object.metadata.labels.team }}"
                operator: NotEquals
                value: "{{ request.oldObject.metadata.labels.team }}"
"""


def test_the_admission_request_reaches_the_kyverno_engine(tmp_path: Path) -> None:
    from scanner.engines.base import AdmissionRequest

    (tmp_path / "policy.yaml").write_text(IMMUTABLE_TEAM_POLICY)
    (tmp_path / "gate.yaml").write_text("version: 1\nrego: {bundled: false}\nkyverno: {policies: [policy.yaml]}\n")
    gate = create_manifest_gate(load_profile(tmp_path / "gate.yaml"), tmp_path)
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {team: payments}}\nspec: {containers: [{name: a, image: a}]}\n"
    )
    documents = load_targets([str(tmp_path / "pod.yaml")], LoadOptions(root=tmp_path)).documents
    old = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"team": "search"}}}

    update = gate.evaluate(EvaluationRequest(documents, admission=AdmissionRequest(operation="UPDATE", old_object=old)))
    create = gate.evaluate(EvaluationRequest(documents, admission=AdmissionRequest(operation="CREATE")))
    ci_run = gate.evaluate(EvaluationRequest(documents))

    assert [r.message for r in update] == ["the team label cannot change from search"]
    assert create == [] and ci_run == []


def test_two_isolated_workers_find_exactly_what_one_finds() -> None:
    """The parallel path (one forked worker per core from 300 documents) splits work, never changes it."""
    from scanner.engines.rego import RegoPolicySet
    from scanner.engines.rego_bounded import evaluate_bounded, worker_count

    profile = load_profile(EXAMPLE / "gate.yaml").for_environment("prod")
    [rego] = [e for e in create_manifest_gate(profile, EXAMPLE).engines if isinstance(e, RegoPolicySet)]
    documents = _example_documents()
    one = evaluate_bounded(rego, EvaluationRequest(documents, "prod"), workers=1)
    two = evaluate_bounded(rego, EvaluationRequest(documents, "prod"), workers=2)
    assert one and _comparable(two) == _comparable(one)
    assert any(r.document is not None and r.json_path for r in two)  # documents re-attached in the parent
    cores = len(os.sched_getaffinity(0))
    assert worker_count(10) == 1 and worker_count(3_000) == min(cores, 4)


def test_a_crash_in_one_of_two_workers_is_an_error_and_the_other_half_still_reports(tmp_path: Path) -> None:
    from scanner.engines.rego import RegoPolicySet
    from scanner.engines.rego_bounded import evaluate_bounded

    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        "package main\nimport rego.v1\n\n"
        "loop(x) := loop(x)\n\n"
        'deny contains "boom" if { input.metadata.name == "crash"; loop(1) }\n'
        'deny contains sprintf("seen %s", [input.metadata.name]) if input.kind == "ConfigMap"\n'
    )
    policies = RegoPolicySet.compile([tmp_path / "policy"])
    text = "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n" for name in ("a", "b", "crash", "d")
    )
    (tmp_path / "cms.yaml").write_text(text)
    documents = load_targets([str(tmp_path / "cms.yaml")], LoadOptions(root=tmp_path)).documents
    results = evaluate_bounded(policies, EvaluationRequest(documents), workers=2)
    errors = [r for r in results if r.level.value == "error"]
    assert errors and "main" in errors[0].message
    seen = {r.message for r in results if r.level.value == "deny"}
    assert {"seen a", "seen b", "seen d"} & seen  # the healthy shard's documents are reported


def test_generated_secret_note_accepts_a_json_pointer_path():
    """A team policy may name the field `/data`; the note must list the keys, not fail on the raw path."""
    from scanner.gates.generated_secrets import GENERATED_SECRET_RULE, reclassify_generated_secrets
    from scanner.inputs.document import Document

    secret = Document(
        obj={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "eA==", "user": "eQ=="}},
        path="chart",
        origin="helm",
        generated_values=frozenset({("data", "password"), ("data", "user")}),
    )
    for json_path in ("data", "/data"):
        raw = RawResult("rego", "team.secrets", "plaintext Secret", rule_id="CDG-K8S-070", document=secret, json_path=json_path)
        (note,) = reclassify_generated_secrets([raw])
        assert note.rule_id == GENERATED_SECRET_RULE
        assert note.properties["generated_keys"] == ["password", "user"]


def test_a_manifest_gate_with_no_policy_at_all_is_exit_2(tmp_path: Path) -> None:
    from scanner.errors import PolicyError

    (tmp_path / "gate.yaml").write_text("version: 1\nrego: {bundled: false}\n")
    with pytest.raises(PolicyError, match="no policy to evaluate"):
        create_manifest_gate(load_profile(tmp_path / "gate.yaml"), tmp_path)


def test_an_engine_that_collects_no_rule_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry reads `policy_count`: an engine with nothing to evaluate never joins the gate."""
    from scanner.engines import registry
    from scanner.errors import PolicyError

    class EmptyEngine:
        """A fake engine standing for any factory that compiled zero rules."""

        name = "empty"
        policy_count = 0

        def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
            return []

    monkeypatch.setattr(registry, "engine_factory", lambda name: lambda profile, root: EmptyEngine())
    with pytest.raises(PolicyError, match="hold no rule"):
        registry.compile_engines(Profile(), tmp_path, names=["rego"])
