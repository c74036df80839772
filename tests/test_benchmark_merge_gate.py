"""benchmarks/merge_gate: the generated CD repo is what the benchmark claims (one service changed, cached)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from scanner.merge.run import MergeRequest, run_merge_gate

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "merge_gate" / "run.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("merge_gate_benchmark", RUN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_generated_repo_changes_one_service_and_warms_the_cache(tmp_path):
    benchmark = load_benchmark()
    benchmark.generate(tmp_path / "repo", 4)
    assert len(list((tmp_path / "repo" / "services").iterdir())) == 4
    request = MergeRequest(repo=tmp_path / "repo", base="main", head="pr", cache_dir=tmp_path / "cache")
    cold = run_merge_gate(request)
    assert cold.units == ["services/svc-0@prod"] and cold.changed_files == ["environments/prod/svc-0/values.yaml"]
    assert cold.exit_code == 0 and cold.documents == 3  # Deployment, Service, ServiceAccount
    assert (cold.cache_hits, cold.cache_misses) == (0, 2)
    warm = run_merge_gate(request)
    assert (warm.cache_hits, warm.cache_misses) == (2, 0)
    assert sorted(f.fingerprint for f in warm.findings) == sorted(f.fingerprint for f in cold.findings)
