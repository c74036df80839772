"""The bundled Rego policies and `cdgate policy test`.

The bundled suite must run through the real command and pass in full; the
runner must report failing and erroring tests as such (never as passes),
and a policy that does not parse must stop the run with exit 2 naming the
file and line. A mutation check proves every rule id the policies emit is
pinned down by at least one test.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from scanner.engines.rego_testing import PolicyTestStatus, discover, run_policy_tests
from scanner.errors import PolicyError

REPO = Path(__file__).resolve().parent.parent
POLICY_DIR = REPO / "policies" / "rego"
RULE_ID_IN_SOURCE = re.compile(r'"rule_id":\s*"(CDG-[A-Z0-9]+-\d{3})"')
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed", re.MULTILINE)


def policy_files() -> list[Path]:
    """Policy files that emit findings (no libraries, no tests)."""
    return sorted(p for p in POLICY_DIR.glob("*.rego") if not p.name.endswith("_test.rego"))


def emitted_ids() -> dict[str, Path]:
    ids: dict[str, Path] = {}
    for path in policy_files():
        for rule_id in RULE_ID_IN_SOURCE.findall(path.read_text(encoding="utf-8")):
            ids.setdefault(rule_id, path)
    return ids


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# --- the bundled suite -------------------------------------------------------


def test_cdgate_policy_test_runs_the_bundled_suite_and_all_pass(cdgate):
    result = cdgate("policy", "test", "policies/rego")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    summary = SUMMARY.search(result.stdout)
    assert summary, result.stdout[-500:]
    passed, failed = int(summary.group(1)), int(summary.group(2))
    assert failed == 0
    assert passed >= 80
    pass_lines = [line for line in result.stdout.splitlines() if line.startswith("PASS ")]
    assert len(pass_lines) == passed
    assert not any(line.startswith(("FAIL ", "ERROR ")) for line in result.stdout.splitlines())
    assert "Traceback" not in result.stderr


def test_every_policy_file_has_a_test_file_with_tests():
    run = run_policy_tests([POLICY_DIR])
    files_with_tests = {Path(r.case.file).name for r in run.results}
    for policy in policy_files():
        assert f"{policy.stem}_test.rego" in files_with_tests, f"{policy.name} has no *_test.rego with test_ rules"
    assert run.errors == 0 and run.failed == 0


def test_all_bundled_policies_load_together_in_one_engine():
    import regorus

    engine = regorus.Engine()
    packages = {engine.add_policy(str(p), p.read_text(encoding="utf-8")) for p in sorted(POLICY_DIR.rglob("*.rego"))}
    assert {"data.cdgate.k8s.pss_baseline", "data.cdgate.k8s.namespaces", "data.cdgate.argocd", "data.cdgate.lib.pods"} <= packages
    # Test packages must not define result rules, or the gate would evaluate them.
    for path in POLICY_DIR.rglob("*_test.rego"):
        assert not re.search(r"^(deny|warn|violation)\b", path.read_text(encoding="utf-8"), re.MULTILINE), path


def test_repo_mode_packages_are_the_cross_resource_ones():
    declared = {p.stem for p in policy_files() if re.search(r'^input_mode\s*:=\s*"repo"', p.read_text(), re.MULTILINE)}
    assert declared == {"namespaces", "availability"}


# Mutation check: rename one rule id in a copy of the policies; the suite
# must notice. A rule whose violating case no test pins down survives.
@pytest.mark.parametrize("rule_id", sorted(emitted_ids()))
def test_each_rule_id_is_pinned_by_a_failing_test_when_mutated(rule_id, tmp_path):
    copy = tmp_path / "rego"
    shutil.copytree(POLICY_DIR, copy)
    source = copy / emitted_ids()[rule_id].name
    text = source.read_text(encoding="utf-8")
    mutated = text.replace(f'"rule_id": "{rule_id}"', '"rule_id": "CDG-MUT-999"')
    assert mutated != text
    source.write_text(mutated, encoding="utf-8")
    package = re.search(r"^package\s+(\S+)", text, re.MULTILINE).group(1)
    own_tests = rf"^data\.({re.escape(package)}_test|cdgate\.bundle_test)\."
    run = run_policy_tests([copy], name_filter=own_tests)
    assert run.passed + run.failed > 0
    assert run.errors == 0
    assert run.failed > 0, f"no test notices when {rule_id} is not emitted"


# --- runner behaviour on other people's policies ----------------------------


@pytest.fixture
def small_suite(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "policy/main.rego",
        """
        package main
        import rego.v1
        deny contains msg if {
            input.kind == "Pod"
            not input.metadata.labels.owner
            msg := "pods need an owner label"
        }
        """,
    )
    write(
        tmp_path,
        "policy/main_test.rego",
        """
        package main_test
        import rego.v1
        import data.main
        test_pod_without_owner_denied if {
            count(main.deny) == 1 with input as {"kind": "Pod", "metadata": {}}
        }
        test_pod_with_owner_allowed if {
            count(main.deny) == 0 with input as {"kind": "Pod", "metadata": {"labels": {"owner": "a"}}}
        }
        """,
    )
    return tmp_path / "policy"


def test_passing_suite_exits_zero_and_prints_each_test(cdgate, small_suite):
    result = cdgate("policy", "test", str(small_suite))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS data.main_test.test_pod_without_owner_denied" in result.stdout
    assert "PASS data.main_test.test_pod_with_owner_allowed" in result.stdout
    assert "2 passed, 0 failed" in result.stdout


def test_failing_test_is_reported_as_failed_with_exit_1(cdgate, small_suite):
    write(
        small_suite,
        "wrong_test.rego",
        """
        package wrong_test
        import rego.v1
        import data.main
        test_expects_the_wrong_thing if {
            count(main.deny) == 0 with input as {"kind": "Pod", "metadata": {}}
        }
        test_returns_false if { false }
        """,
    )
    result = cdgate("policy", "test", str(small_suite))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL data.wrong_test.test_expects_the_wrong_thing" in result.stdout
    assert "FAIL data.wrong_test.test_returns_false" in result.stdout
    assert "wrong_test.rego:4: undefined" in result.stdout
    assert "2 passed, 2 failed" in result.stdout


def test_runtime_error_in_a_test_exits_2_and_is_not_a_pass(cdgate, small_suite):
    write(
        small_suite,
        "boom_test.rego",
        """
        package boom_test
        import rego.v1
        test_raises if { to_number("not a number") == 1 }
        """,
    )
    result = cdgate("policy", "test", str(small_suite))
    assert result.returncode == 2
    assert "ERROR data.boom_test.test_raises" in result.stdout
    assert "boom_test.rego:3" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_rego_syntax_error_exits_2_naming_file_and_line(cdgate, small_suite):
    write(
        small_suite,
        "broken.rego",
        """
        package broken
        import rego.v1

        deny contains msg if {
            msg := 
        }
        """,
    )
    result = cdgate("policy", "test", str(small_suite))
    assert result.returncode == 2
    assert re.search(r"broken\.rego:5:\d+: ", result.stderr), result.stderr
    assert "Stack backtrace" not in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(PolicyError) as caught:
        run_policy_tests([small_suite])
    assert caught.value.path.endswith("broken.rego") and caught.value.line == 5


def test_data_files_are_merged_into_data(tmp_path):
    write(tmp_path, "data/a.json", '{"limits": {"max": 3}}')
    write(tmp_path, "data/b.yaml", "limits:\n  min: 1\nteams: [a, b]\n")
    write(
        tmp_path,
        "data_test.rego",
        """
        package data_test
        import rego.v1
        test_merged if {
            data.limits == {"max": 3, "min": 1}
            data.teams == ["a", "b"]
        }
        """,
    )
    run = run_policy_tests([tmp_path])
    assert [(r.case.name, r.status) for r in run.results] == [("test_merged", PolicyTestStatus.PASS)]
    assert len(run.data_files) == 2


def test_conflicting_data_files_are_an_error_naming_both(tmp_path):
    write(tmp_path, "one.json", '{"limit": 1}')
    write(tmp_path, "two.yaml", "limit: 2\n")
    write(tmp_path, "x_test.rego", "package x_test\nimport rego.v1\ntest_x if true\n")
    with pytest.raises(PolicyError) as caught:
        run_policy_tests([tmp_path])
    assert "one.json" in str(caught.value) and "two.yaml" in str(caught.value)


def test_invalid_data_file_names_its_line(cdgate, tmp_path):
    write(tmp_path, "x_test.rego", "package x_test\nimport rego.v1\ntest_x if true\n")
    write(tmp_path, "params.yaml", "a: 1\nb: [unclosed\n")
    result = cdgate("policy", "test", str(tmp_path))
    assert result.returncode == 2
    assert "params.yaml:" in result.stderr


def test_todo_tests_are_skipped_and_filters_apply(cdgate, tmp_path, small_suite):
    write(
        small_suite,
        "later_test.rego",
        "package later_test\nimport rego.v1\ntodo_test_someday if false\ntest_helper(x) := x\n",
    )
    run = run_policy_tests([small_suite])
    assert run.skipped == 1 and run.passed == 2 and run.ok
    assert "test_helper" not in {r.case.name for r in run.results}
    assert cdgate("policy", "test", str(small_suite), "--run", "(unclosed").returncode == 2
    only = run_policy_tests([small_suite], name_filter="with_owner")
    assert [r.case.name for r in only.results] == ["test_pod_with_owner_allowed"]


def test_no_policies_or_no_tests_is_an_error_not_a_pass(cdgate, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cdgate("policy", "test", str(empty)).returncode == 2
    assert cdgate("policy", "test", str(tmp_path / "missing")).returncode == 2
    write(tmp_path, "only/policy.rego", "package main\nimport rego.v1\ndeny contains 1 if false\n")
    result = cdgate("policy", "test", str(tmp_path / "only"))
    assert result.returncode == 2
    assert "no test_" in result.stderr


def test_json_output_lists_every_test(cdgate, small_suite):
    import json

    result = cdgate("policy", "test", str(small_suite), "--format", "json")
    assert result.returncode == 0
    payload = json.loads(result.stdout)
    assert payload["summary"]["passed"] == 2
    assert {t["name"] for t in payload["tests"]} == {"test_pod_without_owner_denied", "test_pod_with_owner_allowed"}
    assert all(t["file"].endswith("main_test.rego") and t["line"] for t in payload["tests"])


def test_discover_skips_hidden_directories(tmp_path):
    write(tmp_path, ".git/hooks/x.rego", "package nope\n")
    write(tmp_path, "ok.rego", "package ok\n")
    assert [p.name for p in discover([tmp_path]).policies] == ["ok.rego"]
