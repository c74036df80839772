"""`cdgate check` as a user runs it: exit codes, errors, profiles, outputs."""

from __future__ import annotations

import json
from pathlib import Path

PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: registry.example.internal/web@sha256:{digest}
      securityContext:
        privileged: true
"""

CLEAN_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_clean_input_passes_with_exit_0(tmp_path, cdgate):
    write(tmp_path, "cm.yaml", CLEAN_CONFIGMAP)
    result = cdgate("check", str(tmp_path), "-f", "json", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"]["exit_code"] == 0


def test_privileged_pod_fails_with_exit_1_at_the_field_line(tmp_path, cdgate):
    text = PRIVILEGED.format(digest="a" * 64)
    write(tmp_path, "pod.yaml", text)
    result = cdgate("check", str(tmp_path), "-f", "json", "--root", str(tmp_path))
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    privileged = [f for f in findings if f["location"].get("json_path", "").endswith("privileged")]
    assert privileged, findings
    line = text.splitlines().index("        privileged: true") + 1
    assert privileged[0]["location"]["start_line"] == line
    assert privileged[0]["location"]["path"] == "pod.yaml"


def test_fail_on_threshold_decides(tmp_path, cdgate):
    write(tmp_path, "pod.yaml", PRIVILEGED.format(digest="a" * 64))
    write(tmp_path, "gate.yaml", "fail_on: critical\nrules:\n  '*': {severity: low}\n")
    result = cdgate("check", str(tmp_path), "-q", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr  # every finding demoted below fail_on
    assert "PASSED" in result.stderr
    assert "gate.yaml" in result.stderr  # the profile found beside the target is named


def test_malformed_yaml_exits_2_naming_file_line_column(tmp_path, cdgate):
    write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n")
    result = cdgate("check", str(tmp_path), "-f", "json", "--root", str(tmp_path))
    assert result.returncode == 2
    errors = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "CDG-ERR-001"]
    assert errors and errors[0]["location"]["path"] == "bad.yaml"
    assert errors[0]["location"]["start_line"] >= 3
    assert "Traceback" not in result.stderr


def test_broken_team_policy_exits_2_naming_rego_file_and_line(tmp_path, cdgate):
    write(tmp_path, "k8s/cm.yaml", CLEAN_CONFIGMAP)
    write(tmp_path, "policy/team.rego", "package main\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n")
    write(tmp_path, "gate.yaml", "rego:\n  policies: [policy]\n")
    result = cdgate("check", str(tmp_path / "k8s"), "--profile", str(tmp_path / "gate.yaml"))
    assert result.returncode == 2
    assert "team.rego:" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") <= 2  # one clear line, not a dump


def test_team_policy_without_catalogue_entry_still_fails_the_gate(tmp_path, cdgate):
    write(tmp_path, "k8s/cm.yaml", CLEAN_CONFIGMAP)
    write(
        tmp_path,
        "policy/team.rego",
        'package main\nimport rego.v1\ndeny contains "configmaps need an owner label" if {\n'
        '  input.kind == "ConfigMap"\n  not input.metadata.labels.owner\n}\n',
    )
    write(tmp_path, "gate.yaml", "rego:\n  bundled: false\n  policies: [policy]\n")
    result = cdgate("check", str(tmp_path / "k8s"), "--profile", str(tmp_path / "gate.yaml"), "-f", "json", "--root", str(tmp_path))
    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule_id"] for f in findings] == ["rego:main"]
    assert findings[0]["message"] == "configmaps need an owner label"


def test_invalid_profile_exits_2_with_line(tmp_path, cdgate):
    write(tmp_path, "cm.yaml", CLEAN_CONFIGMAP)
    profile = write(tmp_path, "gate.yaml", "fail_on: high\nwaivers:\n  - rule: CDG-K8S-001\n    reason: x\n")
    result = cdgate("check", str(tmp_path / "cm.yaml"), "--profile", str(profile))
    assert result.returncode == 2
    assert f"{profile}:3" in result.stderr


def test_output_file_and_output_dir_and_step_summary(tmp_path, cdgate):
    write(tmp_path, "repo/pod.yaml", PRIVILEGED.format(digest="b" * 64))
    out = tmp_path / "out" / "result.sarif"
    out.parent.mkdir()
    summary = tmp_path / "summary.md"
    result = cdgate(
        "check", str(tmp_path / "repo"), "-f", "sarif", "-o", str(out),
        "--output-dir", str(tmp_path / "reports"), "--root", str(tmp_path / "repo"),
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1, result.stderr
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    written = {p.name for p in (tmp_path / "reports").iterdir()}
    assert {"cdgate.sarif", "cdgate.json", "cdgate.junit.xml", "cdgate.md", "cdgate.html"} <= written
    assert not [n for n in written if n.startswith(".") or n.endswith(".tmp")]  # no temp files left
    assert "FAILED" in result.stderr


def test_step_summary_gets_markdown(tmp_path, cdgate):
    write(tmp_path, "pod.yaml", PRIVILEGED.format(digest="c" * 64))
    summary = tmp_path / "summary.md"
    import os
    import subprocess
    import sys

    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    subprocess.run([sys.executable, "-m", "scanner", "check", str(tmp_path / "pod.yaml"), "-q"], env=env, capture_output=True, cwd=tmp_path)
    text = summary.read_text()
    assert "privileged" in text.lower()


def test_help_lists_commands(cdgate):
    result = cdgate("--help")
    assert result.returncode == 0
    for command in ("check", "policy", "rules", "kyverno", "sign", "verify-attestation"):
        assert command in result.stdout


def test_progress_bar_on_a_terminal_for_long_runs(tmp_path):
    """A long run shows a progress bar on stderr when stderr is a terminal."""
    import os
    import pty
    import subprocess
    import sys

    docs = "\n---\n".join(CLEAN_CONFIGMAP.replace("settings", f"settings-{i}") for i in range(120))
    write(tmp_path, "many.yaml", docs)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "check", str(tmp_path), "-f", "json", "-o", str(tmp_path / "out.json")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal, cwd=tmp_path,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=60) == 0
    text = output.decode(errors="replace")
    assert "Evaluating policies" in text
    assert "120/120" in text


def test_today_decides_whether_a_waiver_still_applies(tmp_path, cdgate):
    write(tmp_path, "pod.yaml", PRIVILEGED.format(digest="d" * 64))
    write(
        tmp_path,
        "gate.yaml",
        "fail_on: critical\nwaivers:\n  - rule: 'CDG-*'\n    resource: {kind: Pod, name: web}\n"
        "    reason: vendor appliance\n    owner: team-shop\n    expires: '2027-01-01'\n",
    )
    before = cdgate("check", str(tmp_path), "-q", "--today", "2026-12-01")
    after = cdgate("check", str(tmp_path), "-q", "--today", "2027-01-02")
    assert before.returncode == 0, before.stderr
    assert after.returncode == 1, after.stderr


def test_summary_counts_each_document_once(tmp_path, cdgate):
    write(tmp_path, "two.yaml", CLEAN_CONFIGMAP + "---\n" + CLEAN_CONFIGMAP.replace("settings", "other"))
    result = cdgate("check", str(tmp_path), "-f", "markdown")
    assert "**Documents** 2 " in result.stdout
