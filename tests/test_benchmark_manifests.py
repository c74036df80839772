"""The manifests benchmark's generator and its verdict on the targets.

The benchmark itself is too slow for the suite (`make bench`); these tests
make sure what it feeds the tools is what it claims (N x 3 x 7 parseable
Kubernetes documents, the same bytes for the same N, some of them flawed) and
that the target check reads the timings the right way round.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

BENCH = REPO / "benchmarks" / "manifests"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate():
    return _load("generate")


@pytest.fixture(scope="module")
def run():
    return _load("run")


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.yaml")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_generates_n_services_by_3_environments_of_7_documents(generate, tmp_path):
    tree = generate.generate(12, tmp_path)
    files = sorted(tree.rglob("*.yaml"))
    assert len(files) == 12 * 3
    kinds: dict[str, int] = {}
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 7, path
        for doc in docs:
            assert doc["apiVersion"] and doc["metadata"]["name"]
            kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
    assert kinds == {
        k: 36
        for k in (
            "Deployment", "Service", "ServiceAccount", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "ConfigMap", "Ingress",
        )
    }  # fmt: skip
    assert generate.document_count(12) == 12 * 3 * 7
    # Trivy skips a top-level `dev` folder; the environments must not be one.
    assert not (tree / "dev").exists()
    assert {p.name for p in (tree / "environments").iterdir()} == {"dev", "staging", "prod"}


def test_same_n_gives_the_same_bytes_and_other_n_does_not(generate, tmp_path):
    first = _tree_digest(generate.generate(9, tmp_path / "a"))
    again = _tree_digest(generate.generate(9, tmp_path / "b"))
    other = _tree_digest(generate.generate(10, tmp_path / "c"))
    assert first == again != other


def test_some_services_are_flawed_and_prod_pins_digests(generate, tmp_path):
    tree = generate.generate(40, tmp_path)
    text = "\n".join(p.read_text() for p in tree.rglob("*.yaml"))
    assert ":latest" in text and "hostNetwork: true" in text and "runAsUser: 0" in text
    prod_images = [
        line.split("image:")[1].strip()
        for p in (tree / "environments" / "prod").rglob("*.yaml")
        for line in p.read_text().splitlines()
        if "image:" in line
    ]
    assert prod_images and all("@sha256:" in i or i.endswith(":latest") for i in prod_images)
    deployments = [
        d for p in tree.rglob("*.yaml") for d in yaml.safe_load_all(p.read_text()) if d["kind"] == "Deployment"
    ]
    with_limits = sum(1 for d in deployments if "limits" in d["spec"]["template"]["spec"]["containers"][0]["resources"])
    assert 0 < with_limits < len(deployments)


def _row(run, n: int, **seconds: float | None):
    timings = {tool: run.Timing(tool, seconds=value) for tool, value in seconds.items()}
    return run.Row(n, n * 21, n * 3, timings)


def test_targets_pass_when_fast_enough_and_fail_when_not(run):
    fast = [_row(run, 20, cdgate=0.5, trivy=6.0), _row(run, 100, cdgate=1.5, trivy=20.0)]
    checks = {c.name: c for c in run.check_targets(fast)}
    assert all(c.passed for c in checks.values()), checks

    slow = [_row(run, 100, cdgate=5.0, trivy=8.0)]  # 2.38 s per 1,000 docs, 1.6x
    checks = {c.name: c for c in run.check_targets(slow)}
    assert not any(c.passed for c in checks.values()), checks


def test_a_tool_that_could_not_run_is_not_a_pass(run):
    rows = [_row(run, 100, cdgate=1.0, trivy=None)]
    checks = {c.name: c for c in run.check_targets(rows)}
    trivy = next(c for name, c in checks.items() if "trivy" in name)
    assert trivy.passed is None
    table = run.render_table(rows, ("cdgate", "trivy"))
    assert "-" in table.splitlines()[-1]


def test_a_missing_tool_is_reported_not_raised(run, tmp_path):
    tool = run.Tool("nothing", lambda: None, lambda *_: [], lambda _: "", (0,))
    timing = run.time_tool(tool, tmp_path, 1, tmp_path / "work")
    assert timing.seconds is None and "not installed" in timing.error
    failing = run.Tool("false", lambda: Path("/bin/false"), lambda b, *_: [str(b)], lambda _: "", (0,))
    timing = run.time_tool(failing, tmp_path, 1, tmp_path / "work2")
    assert timing.seconds is None and timing.error.startswith("exit 1")
