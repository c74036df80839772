"""The benchmark script runs and counts what it claims (its speed is reported by `make bench`, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "kyverno" / "run.py"


@pytest.mark.slow
def test_benchmark_counts_every_resource_rule_evaluation() -> None:
    if not (REPO.parent / "shared" / "corpus" / "kyverno-policies").is_dir():
        pytest.skip("policy library not beside the repo")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--resources", "300", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["policies"] >= 100 and report["rules"] >= 200
    assert report["evaluations"] == report["rules"] * 300
    assert report["results"].get("fail", 0) > 0 and report["results"].get("pass", 0) > 0
    assert report["evaluations_per_second"] > 0
