"""docs/ci, .pre-commit-hooks.yaml and the Dockerfile: valid files whose cdgate commands exist.

Every `cdgate <command> --option` these examples run is checked against the
CLI itself (`cdgate <command> --help`), so an example cannot drift from the
commands it shows.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from scanner.cli import COMMANDS, main

REPO = Path(__file__).resolve().parent.parent
CI = REPO / "docs" / "ci"
EXAMPLES = [CI / "service-repo.github.yml", CI / "cd-repo.github.yml", CI / "gitlab-ci.yml", CI / "Jenkinsfile",
            REPO / ".pre-commit-hooks.yaml", REPO / "Dockerfile"]
SHELL_CDGATE = re.compile(r"(?:^|[;&|]\s*)cdgate\s+(.+)$", re.MULTILINE)


def shell_snippets() -> list[tuple[str, str]]:
    """The shell each example runs: workflow `run`, GitLab `script`, hook `entry`, Jenkins `sh`."""
    snippets: list[tuple[str, str]] = []
    for name in ("service-repo.github.yml", "cd-repo.github.yml"):
        workflow = yaml.safe_load((CI / name).read_text())
        for job in workflow["jobs"].values():
            snippets += [(name, step["run"]) for step in job["steps"] if "run" in step]
    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    for job in (v for v in gitlab.values() if isinstance(v, dict) and "script" in v):
        snippets += [("gitlab-ci.yml", line) for line in (*job.get("before_script", ()), *job["script"])]
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    snippets += [(".pre-commit-hooks.yaml", hook["entry"]) for hook in hooks]
    snippets += [("Jenkinsfile", m) for m in re.findall(r"\bsh '([^']*)'", (CI / "Jenkinsfile").read_text())]
    return snippets


def invocations() -> list[tuple[str, list[str]]]:
    found = []
    for source, snippet in shell_snippets():
        for match in SHELL_CDGATE.finditer(snippet.replace("\\\n", " ")):
            found.append((source, shlex.split(match.group(1))))
    return found


def test_yaml_examples_parse_and_have_their_shape():
    for name in ("service-repo.github.yml", "cd-repo.github.yml"):
        workflow = yaml.safe_load((CI / name).read_text())
        assert workflow["jobs"] and (True in workflow or "on" in workflow), name  # `on` parses as True in YAML 1.1
    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    assert gitlab["cdgate-merge-gate"]["artifacts"]["reports"]["junit"].endswith("cdgate.junit.xml")
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"cdgate-check", "cdgate-policy-test"}
    assert all({"id", "name", "entry", "language"} <= set(h) for h in hooks)
    jenkins = (CI / "Jenkinsfile").read_text()
    assert jenkins.count("{") == jenkins.count("}") and "changeRequest()" in jenkins


def test_cd_repo_workflow_runs_the_merge_gate_with_full_history():
    workflow = yaml.safe_load((CI / "cd-repo.github.yml").read_text())
    steps = workflow["jobs"]["merge-gate"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    gate = next(s for s in steps if s.get("with", {}).get("mode") == "merge-gate")
    assert "--cache-dir" in gate["with"]["extra-args"]
    action_inputs = yaml.safe_load((REPO / "action.yml").read_text())["inputs"]
    assert set(gate["with"]) <= set(action_inputs)
    assert workflow["permissions"]["security-events"] == "write"


def test_every_cdgate_command_and_option_exists():
    runner = CliRunner()
    seen: dict[str, set[str]] = {}
    for source, words in invocations():
        command = words[0]
        options = {w.split("=")[0] for w in words[1:] if w.startswith("--")}
        seen.setdefault(command, set()).update(options)
        assert command in COMMANDS, f"{source}: cdgate {command} is not a command"
    assert {"merge-gate", "check", "policy", "build-gate"} <= set(seen)
    for command, options in seen.items():
        args = [command, "test", "--help"] if command == "policy" else [command, "--help"]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        for option in options:
            assert option in result.output, f"cdgate {command} has no {option}"


def test_build_gate_example_waits_for_the_build_branch():
    if "build-gate" in COMMANDS:
        return  # merged: checked above like every other command
    pytest.skip("cdgate build-gate comes from the build branch (issue 9); its example is checked once merged")


def test_dockerfile_is_pinned_and_runs_as_non_root():
    text = (REPO / "Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases and all(re.search(r"@sha256:[0-9a-f]{64}$", b) for b in bases), bases
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ":latest" not in text
    assert 'ENTRYPOINT ["cdgate"]' in text
    for copied in re.findall(r"^COPY\s+(.+?)\s+\S+$", text, re.MULTILINE):
        for item in copied.split():
            assert (REPO / item).exists(), item
