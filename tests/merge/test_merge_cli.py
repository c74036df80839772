"""`cdgate merge-gate` as a user runs it: reports, fail-closed errors, the promotion setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from merge.gitrepo import GitRepo
from scanner.errors import ConfigError
from scanner.profile import load_profile


TEMPLATE = "services/service-a/templates/deployment.yaml"
PRIVILEGE_LINE = "readOnlyRootFilesystem: true"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> GitRepo:
    repo = GitRepo.from_example(tmp_path_factory.mktemp("cli") / "cd-repo")
    repo.commit("base")
    repo.branch("pr")
    repo.replace(TEMPLATE, PRIVILEGE_LINE, PRIVILEGE_LINE + "\n            privileged: true")
    repo.commit("service-a: privileged")
    repo.branch("fix", "pr")
    repo.replace(TEMPLATE, PRIVILEGE_LINE + "\n            privileged: true", PRIVILEGE_LINE)
    repo.commit("service-a: not privileged after all")
    repo.git("checkout", "-q", "main")
    return repo


def test_new_finding_fails_and_every_report_is_written(repo, tmp_path, cdgate):
    result = cdgate("merge-gate", "--repo", str(repo.path), "--base", "main", "--head", "pr", "--env", "prod", "--env", "dev",
                    "--output-dir", str(tmp_path), "-q", "--today", "2026-11-30")
    assert result.returncode == 1, result.stderr
    assert "merge gate FAILED" in result.stderr and "unit(s)" in result.stderr
    report = json.loads((tmp_path / "cdgate.json").read_text()) if (tmp_path / "cdgate.json").exists() else None
    sarif_files = list(tmp_path.glob("*.sarif"))
    assert sarif_files and report is not None
    results = json.loads(sarif_files[0].read_text())["runs"][0]["results"]
    new = [r for r in results if r.get("baselineState") == "new"]
    assert {r["ruleId"] for r in new} == {"CDG-K8S-001"}
    assert {r["properties"]["scope"] for r in new} == {"prod", "dev"}
    assert all(r["level"] == "error" for r in new)
    assert {r.get("baselineState") for r in results} <= {"new", "unchanged"}
    merge = report["merge"]
    assert merge["changed_files"] == [TEMPLATE] and merge["units"] == ["services/service-a@dev", "services/service-a@prod"]
    assert merge["head"] == repo.git("rev-parse", "pr").strip() and merge["absent"] == []
    states = {f["state"] for f in report["findings"] if f["properties"].get("cdgate/baselineState") == "unchanged"}
    assert states and states <= {"unchanged", "warn"}  # old findings are listed, never as failing
    # the working tree was not touched: main is still checked out and clean
    assert repo.git("status", "--porcelain") == "" and repo.git("rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_fixed_finding_is_absent_and_passes(repo, tmp_path, cdgate):
    result = cdgate("merge-gate", "--repo", str(repo.path), "--base", "pr", "--head", "fix", "--env", "prod",
                    "-f", "sarif", "-o", str(tmp_path / "r.sarif"), "--today", "2026-11-30")
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "r.sarif").read_text())["runs"][0]["results"]
    absent = [r for r in results if r.get("baselineState") == "absent"]
    assert [r["ruleId"] for r in absent] == ["CDG-K8S-001"] and absent[0]["level"] == "none"
    schema_path = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    if schema_path.is_file():  # the log with new, unchanged and absent results is valid SARIF 2.1.0
        import jsonschema

        log = json.loads((tmp_path / "r.sarif").read_text())
        jsonschema.Draft4Validator(json.loads(schema_path.read_text())).validate(log)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "git rev-parse failed"),
        (["--base", "--upload-pack=x"], "not a git ref"),
    ],
)
def test_bad_refs_fail_closed_with_a_message(repo, cdgate, args, message):
    result = cdgate("merge-gate", "--repo", str(repo.path), *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_not_a_git_repository_fails_closed(tmp_path, cdgate):
    result = cdgate("merge-gate", "--repo", str(tmp_path), "--base", "main")
    assert result.returncode == 2 and "git" in result.stderr and "Traceback" not in result.stderr


def test_promotion_order_is_validated(tmp_path):
    gate = tmp_path / "gate.yaml"
    gate.write_text("version: 1\npromotion: [dev, staging, prod]\n")
    assert load_profile(gate).promotion == ("dev", "staging", "prod")
    gate.write_text("version: 1\npromotion: [prod]\n")
    with pytest.raises(ConfigError, match="promotion"):
        load_profile(gate)
    gate.write_text("version: 1\npromotion: [dev, dev]\n")
    with pytest.raises(ConfigError, match="promotion"):
        load_profile(gate)


def test_broken_yaml_at_head_fails_closed_naming_the_file(repo, tmp_path, cdgate):
    repo.branch("broken")
    repo.write("environments/prod/service-b/values.yaml", "image:\n  tag: [unclosed\n")
    repo.commit("broken values")
    repo.git("checkout", "-q", "main")
    result = cdgate("merge-gate", "--repo", str(repo.path), "--base", "main", "--head", "broken", "-f", "json",
                    "-o", str(tmp_path / "r.json"), "--today", "2026-11-30")
    assert result.returncode == 2, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    errors = [f for f in report["findings"] if f["outcome"] == "error"]
    assert errors and errors[0]["location"]["path"] == "environments/prod/service-b/values.yaml"
    assert errors[0]["location"]["start_line"] == 2


def test_a_deleted_service_leaves_its_findings_absent(repo, tmp_path, cdgate):
    repo.branch("drop-b")
    repo.git("rm", "-q", "-r", "services/service-b", "environments/prod/service-b", "environments/dev/service-b",
             "environments/staging/service-b")
    repo.commit("retire service-b")
    repo.git("checkout", "-q", "main")
    result = cdgate("merge-gate", "--repo", str(repo.path), "--base", "main", "--head", "drop-b", "--env", "prod",
                    "-f", "json", "-o", str(tmp_path / "r.json"), "--today", "2026-11-30")
    assert result.returncode == 0, result.stderr
    merge = json.loads((tmp_path / "r.json").read_text())["merge"]
    assert merge["units"] == ["services/service-b@prod"]
    assert {f["rule_id"] for f in merge["absent"]} >= {"CDG-K8S-001", "CDG-K8S-002"}


def test_profile_from_base_keeps_a_pull_request_from_waiving_itself(repo, tmp_path, cdgate):
    repo.branch("self-waiver", "pr")  # pr made service-a privileged
    repo.replace("gate.yaml", "waivers:\n", "waivers:\n  - rule: CDG-K8S-001\n    resource: {kind: Deployment, name: service-a}\n"
                 "    reason: Trust me, it is fine.\n    owner: author@example.com\n    expires: \"2027-06-30\"\n")
    repo.commit("privileged, and a waiver for it")
    repo.git("checkout", "-q", "main")
    common = ["merge-gate", "--repo", str(repo.path), "--base", "main", "--head", "self-waiver", "--env", "prod", "-q",
              "--today", "2026-11-30"]
    by_head = cdgate(*common)
    assert by_head.returncode == 0, by_head.stderr  # the head's own gate.yaml waives it
    by_base = cdgate(*common, "--profile-from", "base")
    assert by_base.returncode == 1, by_base.stderr  # judged by main's gate.yaml, it blocks
    assert "1 blocking finding(s)" in by_base.stderr


def test_a_change_that_empties_a_chart_is_nothing_to_check_and_exit_2(repo, tmp_path, cdgate):
    """Nothing checked is never a pass: a chart that rendered resources at base and none at head."""
    repo.branch("emptied")
    repo.git("rm", "-q", "-r", "services/service-a/templates")
    repo.write("services/service-a/templates/NOTES.txt", "nothing is deployed any more\n")
    repo.commit("service-a renders nothing")
    repo.git("checkout", "-q", "main")
    result = cdgate("merge-gate", "--repo", str(repo.path), "--base", "main", "--head", "emptied", "--env", "prod",
                    "-f", "json", "-o", str(tmp_path / "r.json"), "--today", "2026-11-30")
    assert result.returncode == 2, result.stderr
    errors = [f for f in json.loads((tmp_path / "r.json").read_text())["findings"] if f["outcome"] == "error"]
    assert any(f["rule_id"] == "CDG-ERR-004" and "had resources at the base ref" in f["message"] for f in errors), errors
