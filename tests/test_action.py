"""action.yml: its shell steps run as GitHub runs them (bash -eo pipefail), with the real cdgate,
against a git CD repo for a same-repo and a fork pull request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from merge.gitrepo import GitRepo

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = {step["name"]: step for step in ACTION["runs"]["steps"]}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES = re.compile(r"uses:\s*([^\s#]+)")


@pytest.fixture(scope="module")
def shim(tmp_path_factory) -> Path:
    """A `cdgate` on PATH that runs this checkout (the install step is pip, not run here)."""
    bin_dir = tmp_path_factory.mktemp("bin")
    script = bin_dir / "cdgate"
    script.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m scanner "$@"\n')
    script.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    return bin_dir


def run_step(name: str, env: dict[str, str], cwd: Path, shim: Path) -> subprocess.CompletedProcess:
    step = STEPS[name]
    static = {k: v for k, v in step.get("env", {}).items() if "${{" not in str(v)}
    full_env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", **static, **env}
    full_env.pop("GITHUB_STEP_SUMMARY", None)
    full_env.update({k: v for k, v in env.items()})
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=full_env, cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def outputs_of(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="module")
def pull_request(tmp_path_factory):
    """A CD repo with main and a PR branch that adds a privileged container to service-a."""
    repo = GitRepo.from_example(tmp_path_factory.mktemp("action") / "cd repo")  # a space in the path, on purpose
    base = repo.commit("base")
    repo.branch("pr")
    repo.replace("services/service-a/templates/deployment.yaml", "readOnlyRootFilesystem: true",
                 "readOnlyRootFilesystem: true\n            privileged: true")
    head = repo.commit("privileged")
    repo.git("checkout", "-q", "main")
    return repo, base, head


def event_file(tmp_path: Path, base: str, head: str, head_repo: str) -> Path:
    event = {"pull_request": {"base": {"sha": base, "repo": {"full_name": "shop/cd"}},
                              "head": {"sha": head, "repo": {"full_name": head_repo}}}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


def test_every_action_is_pinned_by_commit_sha():
    files = [REPO / "action.yml", REPO / "README.md", *sorted((REPO / "docs" / "ci").glob("*"))]
    seen = 0
    for path in files:
        for match in USES.finditer(path.read_text()):
            ref = match.group(1).strip("'\"")
            if ref.startswith(("./", "<owner>/cdgate", "docker://")):
                continue
            assert PINNED.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
            seen += 1
    assert seen >= 4
    assert "github/codeql-action/upload-sarif@" in (REPO / "action.yml").read_text()
    assert "# v4." in next(line for line in (REPO / "action.yml").read_text().splitlines() if "upload-sarif@" in line)


def test_the_verdict_decides_after_upload_and_artifact_under_always():
    names = [step["name"] for step in ACTION["runs"]["steps"]]
    assert names.index("Upload SARIF to code scanning") < names.index("Fail when the gate failed")
    assert names.index("Keep the reports") < names.index("Fail when the gate failed")
    for name in ("Upload SARIF to code scanning", "Keep the reports", "Fail when the gate failed", "Annotate blocking findings"):
        assert "always()" in STEPS[name]["if"], name
    assert STEPS["Upload SARIF to code scanning"]["continue-on-error"] is True
    assert "${{" not in "".join(step.get("run", "") for step in ACTION["runs"]["steps"])  # inputs only through env


@pytest.mark.parametrize(("head_repo", "uploads"), [("shop/cd", "true"), ("someone/cd-fork", "false")], ids=["same-repo", "fork"])
def test_merge_gate_mode_on_a_pull_request(pull_request, tmp_path, shim, head_repo, uploads):
    repo, base, head = pull_request
    event = event_file(tmp_path, base, head, head_repo)
    outputs, summary = tmp_path / "output", tmp_path / "summary.md"
    outputs.write_text("")
    common = {"GITHUB_EVENT_PATH": str(event), "GITHUB_OUTPUT": str(outputs), "GITHUB_REPOSITORY": "shop/cd"}
    gate = run_step("Run the gate", {**common, "CDGATE_MODE": "merge-gate", "CDGATE_ENV": "prod\n  dev  \n",
                                     "CDGATE_PATHS": "", "CDGATE_PROFILE": "", "CDGATE_FAIL_ON": "", "CDGATE_BASE": "",
                                     "CDGATE_HEAD": "", "CDGATE_EXTRA_ARGS": "--cache-dir\n.cdgate cache",
                                     "GITHUB_STEP_SUMMARY": str(summary)}, repo.path, shim)
    assert gate.returncode == 0, gate.stderr  # the gate step never fails: the last step does
    out = outputs_of(outputs)
    assert out["exit-code"] == "1" and out["sarif-written"] == "true"
    assert "merge gate FAILED" in gate.stderr and "2 unit(s)" in gate.stderr  # service-a in prod and dev
    assert (repo.path / ".cdgate cache").is_dir()  # an extra argument with a space stayed one argument
    assert "cdgate" in summary.read_text() and summary.read_text().count("\n") > 3
    sarif = json.loads(Path(out["sarif"]).read_text())
    assert any(r.get("baselineState") == "new" and r["ruleId"] == "CDG-K8S-001" for r in sarif["runs"][0]["results"])

    notes = run_step("Annotate blocking findings", {"REPORTS": out["reports"], "MAX_ANNOTATIONS": "1"}, repo.path, shim)
    errors = [line for line in notes.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and "file=services/service-a/templates/deployment.yaml" in errors[0]
    assert "more blocking finding(s)" in notes.stdout

    decision = run_step("Decide the SARIF upload", {**common, "UPLOAD": "auto", "SARIF_WRITTEN": "true"}, repo.path, shim)
    assert decision.returncode == 0, decision.stderr
    assert outputs_of(outputs)["upload"] == uploads
    assert ("SARIF upload skipped" in decision.stdout) == (uploads == "false")

    final = run_step("Fail when the gate failed", {"CODE": out["exit-code"]}, repo.path, shim)
    assert final.returncode == 1 and "a gate failed" in final.stdout


def test_check_mode_keeps_paths_with_spaces_whole(tmp_path, shim):
    folder = tmp_path / "cd repo"
    (folder / "apps dir").mkdir(parents=True)
    (folder / "apps dir" / "pod one.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n"
        "spec:\n  containers:\n    - name: c\n      image: nginx:latest\n      securityContext: {privileged: true}\n"
    )
    outputs = tmp_path / "output"
    outputs.write_text("")
    result = run_step("Run the gate", {"CDGATE_MODE": "check", "CDGATE_PATHS": "apps dir/pod one.yaml\n", "CDGATE_ENV": "",
                                       "CDGATE_PROFILE": "", "CDGATE_FAIL_ON": "critical", "CDGATE_BASE": "", "CDGATE_HEAD": "",
                                       "CDGATE_EXTRA_ARGS": "", "GITHUB_OUTPUT": str(outputs)}, folder, shim)
    assert result.returncode == 0, result.stderr
    out = outputs_of(outputs)
    assert out["exit-code"] == "1" and out["sarif-written"] == "true"
    assert "apps dir/pod one.yaml" in Path(out["sarif"]).read_text()


def test_upload_is_skipped_for_dependabot_pull_requests(tmp_path, shim):
    event = event_file(tmp_path, "a" * 40, "b" * 40, "shop/cd")
    outputs = tmp_path / "output"
    outputs.write_text("")
    env = {"UPLOAD": "auto", "SARIF_WRITTEN": "true", "GITHUB_OUTPUT": str(outputs), "GITHUB_EVENT_PATH": str(event),
           "GITHUB_REPOSITORY": "shop/cd", "GITHUB_ACTOR": "dependabot[bot]"}
    result = run_step("Decide the SARIF upload", env, tmp_path, shim)
    assert outputs_of(outputs)["upload"] == "false" and "read-only token" in result.stdout


def test_upload_is_skipped_when_disabled_or_nothing_was_written(tmp_path, shim):
    outputs = tmp_path / "output"
    outputs.write_text("")
    run_step("Decide the SARIF upload", {"UPLOAD": "false", "SARIF_WRITTEN": "true", "GITHUB_OUTPUT": str(outputs)}, tmp_path, shim)
    assert outputs_of(outputs)["upload"] == "false"
    run_step("Decide the SARIF upload", {"UPLOAD": "true", "SARIF_WRITTEN": "false", "GITHUB_OUTPUT": str(outputs)}, tmp_path, shim)
    assert outputs_of(outputs)["upload"] == "false"


def test_fail_step_maps_exit_codes(tmp_path, shim):
    assert run_step("Fail when the gate failed", {"CODE": "0"}, tmp_path, shim).returncode == 0
    failed = run_step("Fail when the gate failed", {"CODE": "1"}, tmp_path, shim)
    assert failed.returncode == 1 and "a gate failed" in failed.stdout
    assert run_step("Fail when the gate failed", {"CODE": "2"}, tmp_path, shim).returncode == 2
    assert run_step("Fail when the gate failed", {"CODE": ""}, tmp_path, shim).returncode == 2  # the gate never ran
