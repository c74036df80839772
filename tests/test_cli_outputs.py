"""`cdgate check` outputs as a user meets them: -o picks the format, repo-relative SARIF, the -q line, one vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.report._common import STATES

PRIVILEGED = """apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  hostNetwork: true
  containers:
    - name: app
      image: registry.example.internal/web:1.0
      securityContext:
        privileged: true
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("out.sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
        ("out.json", lambda text: json.loads(text)["schema_version"].startswith("cdgate.report/")),
        ("out.xml", lambda text: text.lstrip().startswith("<?xml") and "<testsuites" in text),
        ("out.md", lambda text: text.startswith("#") or "| " in text),
        ("out.html", lambda text: text.lstrip().lower().startswith("<!doctype html")),
    ],
)
def test_output_extension_picks_the_format(tmp_path, cdgate, name, check):
    write(tmp_path / "repo" / "pod.yaml", PRIVILEGED)
    out = tmp_path / name
    result = cdgate("check", str(tmp_path / "repo"), "-o", str(out))
    assert result.returncode == 1, result.stderr
    assert check(out.read_text()), out.read_text()[:200]


def test_format_names_are_case_insensitive_and_unknown_ones_exit_2(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    result = cdgate("check", str(tmp_path), "-f", "SARIF")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["version"] == "2.1.0"
    bad = cdgate("check", str(tmp_path), "-f", "yamlish")
    assert bad.returncode == 2 and "unknown report format 'yamlish'" in bad.stderr


def test_explicit_format_wins_over_the_extension(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    out = tmp_path / "report.txt"
    assert cdgate("check", str(tmp_path), "-f", "json", "-o", str(out)).returncode == 1
    assert json.loads(out.read_text())["verdict"]["exit_code"] == 1


def _sarif_uris(sarif: dict) -> set[str]:
    return {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for loc in result["locations"]
    }


def test_sarif_uris_are_relative_to_the_git_repository_root_from_a_subdirectory(tmp_path, cdgate):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo / "deploy" / "services" / "pod.yaml", PRIVILEGED)
    result = cdgate("check", ".", "-f", "sarif", cwd=repo / "deploy")
    assert result.returncode == 1, result.stderr
    sarif = json.loads(result.stdout)
    assert _sarif_uris(sarif) == {"deploy/services/pod.yaml"}
    base = sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == repo.resolve().as_uri() + "/"


def test_sarif_uris_without_git_are_relative_to_the_scanned_folder_and_root_overrides(tmp_path, cdgate):
    scanned = tmp_path / "cd" / "deploy"
    write(scanned / "services" / "pod.yaml", PRIVILEGED)
    plain = json.loads(cdgate("check", str(scanned), "-f", "sarif", cwd=Path("/")).stdout)
    assert _sarif_uris(plain) == {"services/pod.yaml"}
    rooted = json.loads(cdgate("check", str(scanned), "-f", "sarif", "--root", str(tmp_path / "cd")).stdout)
    assert _sarif_uris(rooted) == {"deploy/services/pod.yaml"}


def test_quiet_line_counts_only_failing_findings_by_their_severities(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    report = json.loads(cdgate("check", str(tmp_path), "-f", "json").stdout)
    failing = [f for f in report["findings"] if f["state"] == "fail"]
    active = [f for f in report["findings"] if f["state"] != "waived"]
    assert failing and len(active) > len(failing)  # there is something below the threshold to leave out
    result = cdgate("check", str(tmp_path), "-q")
    assert result.returncode == 1 and result.stdout == ""
    line = result.stderr.strip()
    assert line.startswith(f"cdgate: FAILED: {len(failing)} failing finding(s) (")
    severities = {f["severity"] for f in failing}
    for severity in ("critical", "high", "medium", "low", "info"):
        assert (f" {severity}" in line.split(";")[0]) == (severity in severities), line


def test_quiet_line_names_the_error(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    write(tmp_path / "broken.yaml", "kind: Pod\nmetadata: {name: x\n  bad: [\n")
    result = cdgate("check", str(tmp_path), "-q")
    assert result.returncode == 2
    line = result.stderr.strip()
    assert line.startswith("cdgate: ERROR: cdgate could not evaluate: broken.yaml:"), line
    assert "failing finding(s)" in line


def test_one_vocabulary_for_outcomes_in_every_report(tmp_path, cdgate):
    write(tmp_path / "pod.yaml", PRIVILEGED)
    out = tmp_path / "reports"
    result = cdgate("check", str(tmp_path), "--output-dir", str(out), "-f", "table")
    assert result.returncode == 1
    report = json.loads((out / "cdgate.json").read_text())
    json_states = {f["state"] for f in report["findings"]}
    assert {"fail", "warn"} <= json_states <= set(STATES)
    sarif = json.loads((out / "cdgate.sarif").read_text())
    sarif_states = {r["properties"]["state"] for r in sarif["runs"][0]["results"]}
    assert sarif_states == json_states
    for text in (result.stdout, (out / "cdgate.html").read_text()):
        assert "below-threshold" not in text
        assert " warn " in text or ">warn<" in text
