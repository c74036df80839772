"""The CEL benchmark script runs all three policy sets on the same resources (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "cel" / "run.py"


def test_benchmark_evaluates_every_set() -> None:
    if not (REPO.parent / "shared" / "corpus" / "kyverno-policies" / "pod-security-vpol").is_dir():
        pytest.skip("policy library not beside the repo")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--resources", "60", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report) == 3
    for name, row in report.items():
        assert row["evaluations"] == row["rules"] * 60, name
        assert row["results"].get("fail", 0) > 0 and row["results"].get("pass", 0) > 0, name
        assert "error" not in row["results"], name
