"""Issue 8, problem 6: conftest's own examples run through `cdgate check` as conftest runs them.

Each case is a `conftest test` line of `../shared/corpus/conftest/acceptance.bats`
(quoted above it) turned into a gate.yaml with the same policy, data and
namespace, run with the real command on the same files. Failures, warnings
and exceptions are compared with what acceptance.bats says conftest
reports. A conftest exception is an info note in cdgate (visible, never a
failure).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cdgate


def run_conftest_case(tmp_path: Path, corpus: Path, files: list[str], policy: str, **rego: object) -> tuple[int, dict, str]:
    examples = corpus / "conftest" / "examples"
    settings = {"bundled": False, "policies": [str(examples / policy)], "namespaces": ["main"], **rego}
    if "data" in settings:
        settings["data"] = [str(examples / d) for d in settings["data"]]  # type: ignore[union-attr]
    (tmp_path / "gate.yaml").write_text(json.dumps({"rego": settings}), encoding="utf-8")
    done = run_cdgate(
        "check", *[str(examples / f) for f in files], "--profile", str(tmp_path / "gate.yaml"),
        "--root", str(corpus / "conftest"), "-f", "json",
    )
    report = json.loads(done.stdout) if done.stdout else {}
    return done.returncode, report, done.stderr


def outcomes(report: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"fail": [], "warn": [], "exception": []}
    for finding in report["findings"]:
        if finding["properties"].get("conftest_exception"):
            found["exception"].append(finding["message"])
        else:
            found[finding["outcome"]].append(finding["message"])
    return found


# run ./conftest test -p examples/kubernetes/policy examples/kubernetes/service.yaml --no-color
# [ "$status" -eq 0 ]; [ "${lines[1]}" = "5 tests, 4 passed, 1 warning, 0 failures, 0 exceptions" ]
def test_kubernetes_service_passes_with_one_warning(tmp_path, corpus):
    code, report, _ = run_conftest_case(tmp_path, corpus, ["kubernetes/service.yaml"], "kubernetes/policy")
    assert code == 0
    found = outcomes(report)
    assert found["warn"] == ["Found service hello-kubernetes but services are not allowed"]
    assert found["fail"] == [] and found["exception"] == []


# run ./conftest test -p examples/kubernetes/policy/ examples/kubernetes/deployment.yaml --all-namespaces --quiet
# [ "$status" -eq 1 ]; "5 tests, 1 passed, 0 warnings, 4 failures, 0 exceptions"
def test_kubernetes_deployment_fails_four_rules_including_the_violation_array(tmp_path, corpus):
    code, report, _ = run_conftest_case(tmp_path, corpus, ["kubernetes/deployment.yaml"], "kubernetes/policy")
    assert code == 1
    found = outcomes(report)
    assert len(found["fail"]) == 4
    assert any("Containers must not run as root" in m for m in found["fail"])
    assert any("must provide app/release labels" in m for m in found["fail"])
    assert any("must include Kubernetes recommended labels" in m for m in found["fail"])
    assert any("Found deployment hello-kubernetes but deployments are not allowed" in m for m in found["fail"])
    assert found["warn"] == []


# run ./conftest test -p examples/exceptions/policy examples/exceptions/deployments.yaml --no-color
# [ "$status" -eq 1 ]; "2 tests, 0 passed, 0 warnings, 1 failure, 1 exception"
# EXCP - examples/exceptions/deployments.yaml - main - data.main.exception[_][_] == "run_as_root"
def test_suffixed_deny_rule_and_its_exception(tmp_path, corpus):
    code, report, _ = run_conftest_case(tmp_path, corpus, ["exceptions/deployments.yaml"], "exceptions/policy")
    assert code == 1
    found = outcomes(report)
    assert found["fail"] == ["Containers must not run as root in Deployment cannot-run-as-root"]
    assert len(found["exception"]) == 1 and "can-run-as-root" in found["exception"][0]
    assert "'run_as_root'" in found["exception"][0]
    [note] = [f for f in report["findings"] if f["properties"].get("conftest_exception")]
    assert note["severity"] == "info" and note["outcome"] == "warn"


# run ./conftest test -p examples/combine/policy examples/combine/team.yaml examples/combine/user1.yaml
#     examples/combine/user2.yaml --combine
# [ "$status" -eq 1 ]; "2 tests, 1 passed, 0 warnings, 1 failure"
# (and "Combining multi-document yaml file has same result" with team.yaml users.yaml)
# regorus rejects duplicate.rego:7 (a comprehension reads `name` before its `:=`; OPA accepts it, see
# docs/policy-conventions.md), so cdgate fails closed where conftest reports the failure.
@pytest.mark.parametrize(
    "files", [["combine/team.yaml", "combine/user1.yaml", "combine/user2.yaml"], ["combine/team.yaml", "combine/users.yaml"]]
)
def test_combine_example_fails_closed_on_what_regorus_rejects(tmp_path, corpus, files):
    code, report, _ = run_conftest_case(tmp_path, corpus, files, "combine/policy", combine=True)
    assert code == 2
    [error] = [f for f in report["findings"] if f["outcome"] == "error"]
    assert error["rule_id"] == "CDG-ERR-003" and "duplicate.rego:7" in error["message"]


# run ./conftest verify --policy ./examples/kubernetes/combine -> "2 tests, 2 passed": combine.rego's
# violation fires for a Deployment no Service selects, reading input[i].contents of every file at once.
@pytest.mark.parametrize("files", [["kubernetes/combine/combine.yaml"],
                                   ["kubernetes/combine/deployment.yaml", "kubernetes/combine/service.yaml"]])
def test_combine_mode_sees_every_document_at_once(tmp_path, corpus, files):
    code, report, _ = run_conftest_case(tmp_path, corpus, files, "kubernetes/combine/combine.rego", combine=True)
    assert code == 1
    assert outcomes(report)["fail"] == ["Deployment 'goodbye-kubernetes' has no matching service"]


# run ./conftest test -p examples/data/policy -d examples/data/exclusions examples/data/service.yaml
# [ "$status" -eq 1 ]; [[ "$output" =~ "Cannot expose port" ]]
def test_data_files_reach_the_policy(tmp_path, corpus):
    code, report, _ = run_conftest_case(tmp_path, corpus, ["data/service.yaml"], "data/policy", data=["data/exclusions"])
    assert code == 1
    [message] = outcomes(report)["fail"]
    assert message.startswith("Cannot expose port 22 on LoadBalancer")


# run ./conftest test -p examples/report/policy_print/labels.rego examples/kubernetes/deployment.yaml --no-color
# [ "$status" -eq 1 ]
def test_report_example_policies_fail_the_deployment(tmp_path, corpus):
    code, report, _ = run_conftest_case(tmp_path, corpus, ["kubernetes/deployment.yaml"], "report/policy")
    assert code == 1
    [message] = outcomes(report)["fail"]
    assert "must include Kubernetes recommended labels" in message


# run ./conftest test -p examples/strict-rules/policy/ examples/kubernetes/deployment.yaml --strict -> status 1
# (compile errors). cdgate has no --strict: the lenient policy compiles and its deny does not fire.
def test_strict_rules_example_compiles_and_does_not_fire_without_strict(tmp_path, corpus):
    code, report, stderr = run_conftest_case(tmp_path, corpus, ["kubernetes/deployment.yaml"], "strict-rules/policy")
    assert code == 0, stderr
    assert report["gates"][1]["documents"] == 1 and report["findings"] == []


# run ./conftest test --namespace notpresent -p examples/kubernetes/policy examples/kubernetes/deployment.yaml
# [ "$status" -eq 0 ]   <- conftest passes on nothing; cdgate refuses a set that collects no rule.
def test_a_policy_set_with_no_rule_in_the_namespaces_is_exit_2(tmp_path, corpus):
    code, _, stderr = run_conftest_case(
        tmp_path, corpus, ["kubernetes/deployment.yaml"], "kubernetes/policy", namespaces=["notpresent"]
    )
    assert code == 2
    assert "no rule to evaluate in examples/kubernetes/policy" in stderr
