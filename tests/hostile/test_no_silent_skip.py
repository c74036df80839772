"""Issue 15, "passes without checking": nothing a pull request writes is skipped silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile.fixtures import PRIVILEGED_POD, profile, write
from tests.hostile.harness import assert_contained, run_bounded


def _list_of(*items: object) -> dict:
    return {"apiVersion": "v1", "kind": "List", "items": list(items)}


def test_privileged_pod_nested_three_lists_deep_fails_the_gate(tmp_path: Path) -> None:
    write(tmp_path / "nested.yaml", json.dumps(_list_of(_list_of(_list_of(PRIVILEGED_POD)))))
    run = run_bounded("check", "nested.yaml", "-f", "json", cwd=tmp_path)
    assert_contained(run, 1)
    findings = json.loads(run.stdout)["findings"]
    assert any(f["location"]["name"] == "evil" and f["outcome"] == "fail" for f in findings)


@pytest.mark.slow
def test_one_megabyte_list_loads_in_bounded_time(tmp_path: Path) -> None:
    filler = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}, "data": {"k": "v" * 200}}
        for i in range(4000)
    ]
    text = "apiVersion: v1\nkind: List\nitems:\n"
    for item in [*filler, PRIVILEGED_POD]:
        text += "- " + json.dumps(item) + "\n"
    assert len(text) > 1_000_000
    write(tmp_path / "big.yaml", text)
    run = run_bounded("check", "big.yaml", "-q", cwd=tmp_path)
    assert_contained(run, 1)


def test_dev_null_as_target_is_an_error_not_a_pass(tmp_path: Path) -> None:
    run = run_bounded("check", "/dev/null", "-f", "json", cwd=tmp_path)
    assert_contained(run, 2)
    assert "/dev/null" in run.output and "not a regular file" in run.output


def test_fifo_target_and_fifo_in_a_directory_are_refused_without_blocking(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo / "ok.yaml", json.dumps(PRIVILEGED_POD))
    os.mkfifo(repo / "pipe.yaml")
    direct = run_bounded("check", "repo/pipe.yaml", cwd=tmp_path, wall_clock_s=30)
    assert_contained(direct, 2)
    walked = run_bounded("check", "repo", "-f", "json", cwd=tmp_path, wall_clock_s=30)
    assert_contained(walked, 2)
    assert "repo/pipe.yaml" in walked.stdout


@pytest.mark.parametrize(
    "call",
    ['http.send({"method": "get", "url": "http://127.0.0.1:9/"})', "opa.runtime()", 'net.lookup_ip_addr("example.com")',
     "time.now_ns()"],
)
def test_rego_builtin_needing_network_or_runtime_is_a_policy_error(tmp_path: Path, call: str) -> None:
    write(tmp_path / "pod.yaml", json.dumps(PRIVILEGED_POD))
    write(
        tmp_path / "policies/team.rego",
        f"""\
        package main

        deny contains msg if {{
            x := {call}
            x.status_code == 200
            msg := "never"
        }}
        """,
    )
    profile(tmp_path, "rego:\n  bundled: false\n  policies: [policies]\n")
    run = run_bounded("check", "pod.yaml", "--profile", "gate.yaml", cwd=tmp_path)
    assert_contained(run, 2)
    assert "policies/team.rego" in run.output
    assert call.split("(")[0] in run.output


def test_kyverno_unknown_function_in_foreach_list_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pod.yaml", json.dumps(PRIVILEGED_POD))
    write(
        tmp_path / "kyverno/policy.yaml",
        """\
        apiVersion: kyverno.io/v1
        kind: ClusterPolicy
        metadata: {name: no-privileged}
        spec:
          validationFailureAction: Enforce
          rules:
          - name: containers
            match: {any: [{resources: {kinds: [Pod]}}]}
            validate:
              message: privileged
              foreach:
              - list: "no_such_function(request.object.spec.containers)"
                deny:
                  conditions:
                    any:
                    - key: "{{ element.securityContext.privileged }}"
                      operator: Equals
                      value: true
        """,
    )
    profile(tmp_path, "rego:\n  bundled: false\nkyverno:\n  policies: [kyverno]\n")
    run = run_bounded("check", "pod.yaml", "--profile", "gate.yaml", cwd=tmp_path)
    assert_contained(run, 2)
    assert "no_such_function" in run.output


def test_symlink_leaving_the_root_is_listed_as_skipped_in_the_report(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside/secret.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    repo = tmp_path / "repo"
    write(repo / "pod.yaml", json.dumps(PRIVILEGED_POD))
    (repo / "linked.yaml").symlink_to(outside)
    run = run_bounded("check", ".", "-f", "json", cwd=repo)
    assert_contained(run, 1)
    notices = json.loads(run.stdout)["notices"]
    assert any("linked.yaml" in n and "outside" in n for n in notices), notices
