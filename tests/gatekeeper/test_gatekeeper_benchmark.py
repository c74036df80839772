"""The Gatekeeper benchmark runs end to end and counts what it says it counts (speed is in benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gatekeeper" / "run.py"


def test_benchmark_reports_every_template_over_every_pod(corpus: Path) -> None:
    if not (corpus / "gatekeeper-library").is_dir():
        pytest.skip("Gatekeeper library not beside the repo")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--pods", "40", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["templates"] == 15 and report["constraints"] == 15
    assert report["cel_templates"] == 12  # the Pod Security templates that carry K8sNativeValidation
    assert report["gatekeeper_evaluations"] == 15 * 40
    assert report["gatekeeper_violations"] > 0 and report["gatekeeper_errors"] == 0
    assert report["rego_findings"] > 0
