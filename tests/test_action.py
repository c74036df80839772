"""action.yml: its shell steps run as GitHub would run them, with the real cdgate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = {step["name"]: step for step in ACTION["runs"]["steps"]}


def run_step(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    step = STEPS[name]
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **step.get("env", {}), **env}
    return subprocess.run(["bash", "-e", "-c", step["run"]], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_sarif_is_uploaded_before_the_check_fails():
    names = [step["name"] for step in ACTION["runs"]["steps"]]
    upload = names.index("Upload SARIF to code scanning")
    assert upload < names.index("Fail when the gate failed")
    assert "always()" in STEPS["Upload SARIF to code scanning"]["if"]


def test_gate_step_records_exit_code_and_writes_sarif(tmp_path):
    repo = tmp_path / "cd"
    repo.mkdir()
    (repo / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n"
        "spec:\n  containers:\n    - name: c\n      image: nginx:latest\n      securityContext: {privileged: true}\n"
    )
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    result = run_step(
        "Run the gate",
        {"CDGATE_PATHS": ".", "CDGATE_ENV": "", "CDGATE_PROFILE": "", "GITHUB_OUTPUT": str(outputs)},
        repo,
    )
    assert result.returncode == 0, result.stderr  # the step itself never fails: the last step does
    assert "exit-code=1" in outputs.read_text()
    assert (repo / "cdgate-reports" / "cdgate.sarif").is_file()


def test_fail_step_maps_exit_codes(tmp_path):
    assert run_step("Fail when the gate failed", {"CODE": "0"}, tmp_path).returncode == 0
    failed = run_step("Fail when the gate failed", {"CODE": "1"}, tmp_path)
    assert failed.returncode == 1 and "a gate failed" in failed.stdout
    assert run_step("Fail when the gate failed", {"CODE": "2"}, tmp_path).returncode == 2
