"""`cdgate check` options with trivy / conftest semantics: what is reported, read, evaluated, and the exit code."""

from __future__ import annotations

import json
from pathlib import Path

PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  hostNetwork: true
  containers:
    - name: app
      image: registry.example.internal/web@sha256:{digest}
      securityContext:
        privileged: true
""".replace("{digest}", "a" * 64)

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
"""

OWNER_POLICY = """package main
import rego.v1

deny contains msg if {
  input.kind == "ConfigMap"
  not input.metadata.labels[data.owners.label]
  msg := sprintf("ConfigMap %s needs the %s label", [input.metadata.name, data.owners.label])
}
"""

FAST_MODE_POLICY = """package team.modes
import rego.v1

deny contains "mode fast is not allowed" if input.data.mode == "fast"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def findings(result) -> list[dict]:
    """The JSON report's findings of a run that evaluated everything (exit 2 would mean an ERROR finding)."""
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)["findings"]


def test_severity_reports_only_the_listed_severities_and_counts_only_them(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    everything = findings(cdgate("check", str(tmp_path), "-f", "json"))
    assert {f["severity"] for f in everything} > {"critical"}
    only = cdgate("check", str(tmp_path), "-f", "json", "--severity", "CRITICAL")
    assert only.returncode == 1
    report = json.loads(only.stdout)
    assert report["findings"] and {f["severity"] for f in report["findings"]} == {"critical"}
    assert any("filtered (severity critical)" in n for n in report["notices"])
    low = cdgate("check", str(tmp_path), "-f", "json", "--severity", "low,info")
    assert low.returncode == 0  # nothing at or above fail_on is reported, so nothing fails


def test_bad_severity_is_named_once(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    result = cdgate("check", str(tmp_path), "--severity", "high,urgent")
    assert result.returncode == 2
    assert "unknown severity 'urgent'" in result.stderr and result.stderr.count("critical") == 1


def test_rule_and_skip_rule_globs(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    ids = {f["rule_id"] for f in findings(cdgate("check", str(tmp_path), "-f", "json"))}
    assert {"CDG-K8S-001", "CDG-K8S-002"} <= ids
    kept = {f["rule_id"] for f in findings(cdgate("check", str(tmp_path), "-f", "json", "--rule", "CDG-K8S-001"))}
    assert kept == {"CDG-K8S-001"}
    skipped = {f["rule_id"] for f in findings(cdgate("check", str(tmp_path), "-f", "json", "--skip-rule", "CDG-K8S-00*"))}
    assert skipped and not any(i.startswith("CDG-K8S-00") for i in skipped)


def test_skip_dirs_and_skip_files_are_not_read(tmp_path, cdgate):
    write(tmp_path / "app" / "cm.yaml", CONFIGMAP)
    write(tmp_path / "app" / "testdata" / "broken.yaml", "kind: [\n")
    write(tmp_path / "app" / "pod.generated.yaml", PRIVILEGED)
    assert cdgate("check", str(tmp_path), "-q").returncode == 2  # the broken file fails closed
    result = cdgate("check", str(tmp_path), "-f", "json", "--skip-dirs", "testdata", "--skip-files", "*.generated.yaml")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"]["exit_code"] == 0
    by_path = cdgate("check", str(tmp_path), "-q", "--skip-dirs", "app/testdata")
    assert by_path.returncode == 1  # the broken file is skipped, the privileged pod is read


def test_exit_zero_is_display_only_but_errors_still_exit_2(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    result = cdgate("check", str(tmp_path), "--exit-zero")
    assert result.returncode == 0 and "FAILED" in result.stdout
    write(tmp_path / "broken.yaml", "kind: [\n")
    assert cdgate("check", str(tmp_path), "--exit-zero", "-q").returncode == 2


def test_ad_hoc_policy_namespace_and_data_like_conftest(tmp_path, cdgate):
    write(tmp_path / "k8s" / "cm.yaml", CONFIGMAP)
    write(tmp_path / "policy" / "owners.rego", OWNER_POLICY)
    write(tmp_path / "policy" / "modes.rego", FAST_MODE_POLICY)
    write(tmp_path / "data" / "owners.json", '{"owners": {"label": "team"}}')
    args = ["check", str(tmp_path / "k8s"), "-f", "json", "-p", str(tmp_path / "policy"), "--data", str(tmp_path / "data" / "owners.json")]
    result = cdgate(*args)
    assert result.returncode == 1, result.stderr
    ad_hoc = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"].startswith("rego:")]
    assert [(f["rule_id"], f["message"]) for f in ad_hoc] == [("rego:main", "ConfigMap settings needs the team label")]
    from_folder = cdgate(*args[:-1], str(tmp_path / "data"))  # --data also takes a folder
    assert [f["message"] for f in json.loads(from_folder.stdout)["findings"] if f["rule_id"] == "rego:main"] == [
        "ConfigMap settings needs the team label"
    ]
    (tmp_path / "empty").mkdir()
    no_data = cdgate(*args[:-1], str(tmp_path / "empty"))  # a --data folder with nothing to read is exit 2, not a pass
    assert no_data.returncode == 2 and "--data folder holds no data file" in no_data.stderr, no_data.stderr
    only_team = cdgate(*args, "--namespace", "team")
    assert {(f["rule_id"], f["message"]) for f in json.loads(only_team.stdout)["findings"]} == {
        ("rego:team.modes", "mode fast is not allowed")
    }


def test_rules_list_accepts_a_severity_list(cdgate):
    result = cdgate("rules", "list", "--severity", "high,Critical", "-f", "json")
    assert result.returncode == 0, result.stderr
    severities = {r["severity"] for r in json.loads(result.stdout)}
    assert severities == {"high", "critical"}
    bad = cdgate("rules", "list", "--severity", "hgh")
    assert bad.returncode == 2 and bad.stderr.count("use a comma list") == 1


def test_fail_on_option_beats_the_environment_threshold(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    write(tmp_path / "gate.yaml", "fail_on: critical\nenvironments:\n  prod:\n    fail_on: low\n")
    args = ("check", str(tmp_path), "--env", "prod", "-f", "json", "--skip-rule", "CDG-K8S-001")
    by_environment = cdgate(*args)
    assert by_environment.returncode == 1, by_environment.stderr  # prod fails on low; high and medium findings remain
    overridden = cdgate(*args, "--fail-on", "critical")
    assert overridden.returncode == 0, overridden.stderr  # nothing critical is left once CDG-K8S-001 is skipped
    assert json.loads(overridden.stdout)["findings"]
