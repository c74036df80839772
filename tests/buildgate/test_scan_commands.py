"""`cdgate sbom` and `cdgate scan secrets|iac|fs` as a user runs them, with the real Trivy and Checkov."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from scanner.engines.trivy import TrivyFailure, TrivyOptions, run_trivy

pytestmark = pytest.mark.slow

ROOT_LATEST_DOCKERFILE = "FROM python:latest\nCOPY app.py /app.py\nCMD [\"python\", \"/app.py\"]\n"
GOOD_DOCKERFILE = (
    "FROM python:3.11.9-slim@sha256:" + "a" * 64 + "\n"
    "RUN useradd --uid 10001 app\nCOPY app.py /app.py\nUSER 10001\n"
    "HEALTHCHECK CMD [\"python\", \"-c\", \"print(1)\"]\nCMD [\"python\", \"/app.py\"]\n"
)


def findings(path: Path) -> list[dict]:
    return json.loads(path.read_text())["findings"]


@pytest.mark.parametrize("sbom_format", ["cyclonedx", "spdx-json"])
def test_sbom_lists_pinned_requirements(cdgate, tmp_path, sbom_format):
    project = tmp_path / "service"
    project.mkdir()
    (project / "requirements.txt").write_text("requests==2.31.0\nclick==8.1.7\n# a comment\n")
    (project / "app.py").write_text("import requests\n")
    out = tmp_path / "sbom.json"
    result = cdgate("sbom", str(project), "-f", sbom_format, "-o", str(out), "--trivy-cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    sbom = json.loads(out.read_text())
    if sbom_format == "cyclonedx":
        components = {(c["name"], c.get("version")) for c in sbom["components"] if c["type"] == "library"}
    else:
        components = {(p["name"], p.get("versionInfo")) for p in sbom["packages"] if p.get("versionInfo")}
    assert {("requests", "2.31.0"), ("click", "8.1.7")} <= components


def test_sbom_of_a_file_that_is_not_an_image_exits_2(cdgate, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    result = cdgate("sbom", str(bogus), "--trivy-cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 2
    assert "notes.txt" in result.stderr and "--image" in result.stderr


def test_scan_secrets_finds_a_planted_aws_key_at_its_line(cdgate, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "settings.py").write_text("DEBUG = False\nREGION = 'eu-west-1'\nAWS_ACCESS_KEY_ID = 'AKIAZ7QW3RT5YU2IOPLA'\n")
    (source / "clean.py").write_text("print('nothing here')\n")
    report = tmp_path / "secrets.json"
    result = cdgate("scan", "secrets", "src", "--trivy-cache-dir", str(tmp_path / "cache"), "-f", "json", "-o", str(report), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [secret] = findings(report)
    assert secret["rule_id"] == "secret:aws-access-key-id"
    assert secret["location"]["path"] == "src/settings.py" and secret["location"]["start_line"] == 3
    assert "AKIAZ7QW3RT5YU2IOPLA" not in report.read_text()  # Trivy masks the match; cdgate keeps it masked


def test_scan_secrets_of_a_clean_tree_passes(scan_in_process, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print('hello')\n")
    (tmp_path / "src" / "values.yaml").write_text("replicas: 2\n")
    code, report = scan_in_process("secrets", tmp_path / "src")
    assert code == 0, report["findings"]
    assert report["findings"] == [] and report["gates"][0]["documents"] == 2


def test_scan_of_an_empty_directory_is_not_a_pass(cdgate, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cdgate("scan", "secrets", "empty", "--trivy-cache-dir", str(tmp_path / "cache"), "-f", "json", cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing to check" in json.loads(result.stdout)["findings"][0]["message"]


def test_scan_iac_flags_a_dockerfile_running_as_root_from_latest(cdgate, tmp_path):
    (tmp_path / "svc" / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "svc" / "Dockerfile").write_text(ROOT_LATEST_DOCKERFILE)
    (tmp_path / "svc" / ".github" / "workflows" / "ci.yml").write_text(
        "on: issues\npermissions: {contents: read}\njobs:\n  greet:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo \"${{ github.event.issue.title }}\"\n"
    )
    report = tmp_path / "iac.json"
    result = cdgate("scan", "iac", "svc", "--trivy-cache-dir", str(tmp_path / "cache"), "-f", "json", "-o", str(report), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    by_rule = {f["rule_id"]: f for f in findings(report)}
    # Trivy and Checkov both flag both mistakes: one finding each, listing both engines.
    assert {"DS-0002", "DS-0001"} <= set(by_rule) and not {"CKV_DOCKER_3", "CKV_DOCKER_7"} & set(by_rule)
    root, latest = by_rule["DS-0002"], by_rule["DS-0001"]
    assert root["properties"]["engines"] == latest["properties"]["engines"] == ["checkov", "trivy"]
    assert root["severity"] == "high" and root["outcome"] == "fail"
    assert latest["location"]["path"] == "svc/Dockerfile" and latest["location"]["start_line"] == 1
    assert "CKV_DOCKER_7" in latest["message"]
    injection = by_rule["CKV_GHA_2"]  # shell injection from an issue title
    assert injection["location"]["path"] == "svc/.github/workflows/ci.yml" and injection["location"]["start_line"] == 7


def test_scan_iac_passes_a_pinned_non_root_dockerfile(scan_in_process, tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(GOOD_DOCKERFILE)
    code, report = scan_in_process("iac", tmp_path / "svc")
    assert code == 0, [f["rule_id"] for f in report["findings"]]
    assert report["gates"][0]["documents"] > 0


def test_scan_iac_reads_helm_charts_rendered_by_cdgate(scan_in_process, tmp_path):
    chart = tmp_path / "charts" / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("privileged: true\n")
    (chart / "templates" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n        - name: web\n"
        "          image: nginx:1.27\n          securityContext:\n            privileged: {{ .Values.privileged }}\n"
    )
    code, report = scan_in_process("iac", tmp_path / "charts")
    assert code == 1
    [privileged] = [f for f in report["findings"] if f["rule_id"] == "CDG-K8S-001"]
    assert "checkov" in privileged["properties"]["engines"]  # Checkov saw the chart cdgate rendered
    assert privileged["location"]["path"] == "charts/web/templates/deploy.yaml"
    assert privileged["location"]["name"] == "web"


def _fake_trivy(tmp_path: Path, body: str) -> Path:
    """A fake Trivy (a shell script) for what the real one cannot be made to do on demand: crash, hang."""
    script = tmp_path / "fake-trivy"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_trivy_crash_exits_2_and_keeps_its_stderr(scan_in_process, tmp_path, monkeypatch):
    monkeypatch.setenv("CDGATE_TRIVY", str(_fake_trivy(tmp_path, "echo 'panic: runtime error: index out of range' >&2\nexit 2\n")))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\n")
    code, report = scan_in_process("secrets", tmp_path / "src")
    assert code == 2
    [error] = report["findings"]
    assert error["outcome"] == "error" and "exited with code 2" in error["message"]
    assert "panic: runtime error" in error["properties"]["stderr"]


def test_trivy_that_hangs_is_stopped_at_the_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv("CDGATE_TRIVY", str(_fake_trivy(tmp_path, "sleep 30\n")))
    with pytest.raises(TrivyFailure) as caught:
        run_trivy(["fs", str(tmp_path)], TrivyOptions(cache_dir=tmp_path, timeout_s=1))
    assert "did not finish within 1 s" in caught.value.message


def test_trivy_output_beyond_the_bound_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv("CDGATE_TRIVY", str(_fake_trivy(tmp_path, "head -c 2000000 /dev/zero\n")))
    with pytest.raises(TrivyFailure) as caught:
        run_trivy(["fs", str(tmp_path)], TrivyOptions(cache_dir=tmp_path, max_output_bytes=100_000))
    assert "more than 100000 bytes" in caught.value.message


def test_the_trivy_binary_is_the_wheels_not_the_path(monkeypatch):
    from scanner.engines.trivy import trivy_binary

    monkeypatch.delenv("CDGATE_TRIVY", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    binary = trivy_binary()
    assert binary.is_file() and os.access(binary, os.X_OK)


def test_a_checkov_exception_is_an_error_result_with_its_traceback(tmp_path, monkeypatch):
    from scanner.engines import checkov
    from scanner.engines.base import Level

    def fake_runner_that_crashes(framework, root_folder, files):
        """A fake Checkov runner: the real one cannot be made to crash on demand."""
        raise RuntimeError(f"{framework} parser blew up")

    monkeypatch.setattr(checkov, "_run_framework", fake_runner_that_crashes)
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    result = checkov.scan_directory(tmp_path, tmp_path, ("dockerfile",))
    [error] = result.results
    assert error.level is Level.ERROR and "dockerfile parser blew up" in error.message
    assert "RuntimeError" in error.properties["stderr"]


def test_vulndb_build_command_writes_a_database_trivy_opens(cdgate, tmp_path):
    advisories = tmp_path / "advisories.yaml"
    advisories.write_text(
        "vulnerabilities:\n  CVE-2099-9001: {severity: CRITICAL, title: bad requests}\n  CVE-2099-9002: {severity: HIGH}\n"
        "advisories:\n  - {source: pip, package: requests, id: CVE-2099-9001, fixed: 2.32.0}\n"
        "  - {source: npm, package: lodash, id: CVE-2099-9002, fixed: 4.17.21}\n"
    )
    result = cdgate("vulndb", "build", str(advisories), "--cache-dir", str(tmp_path / "db"))
    assert result.returncode == 0, result.stderr
    project = tmp_path / "svc"
    project.mkdir()
    (project / "requirements.txt").write_text("requests==2.31.0\nclick==8.1.7\n")
    (project / "package-lock.json").write_text(json.dumps({
        "name": "svc", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
        "packages": {
            "": {"name": "svc", "version": "1.0.0", "dependencies": {"lodash": "^4.17.0", "ms": "^2.1.3"}},
            "node_modules/lodash": {"version": "4.17.20", "resolved": "https://example.invalid/lodash-4.17.20.tgz"},
            "node_modules/ms": {"version": "2.1.3", "resolved": "https://example.invalid/ms-2.1.3.tgz"},
        },
    }))
    scanned = cdgate("scan", "fs", "svc", "--trivy-cache-dir", str(tmp_path / "db"), "-f", "json", cwd=tmp_path)
    assert scanned.returncode == 1, scanned.stderr
    found = {f["rule_id"]: f["location"]["path"] for f in json.loads(scanned.stdout)["findings"]}
    assert found == {"CVE-2099-9001": "svc/requirements.txt", "CVE-2099-9002": "svc/package-lock.json"}


def test_a_checkov_finding_cdgate_cannot_place_is_an_error_not_dropped(monkeypatch):
    from types import SimpleNamespace

    from scanner.engines import checkov
    from scanner.engines.base import Level
    from scanner.inputs.document import Document

    def fake_runner_reporting_elsewhere(framework, root_folder, files):
        """A fake Checkov report whose failed check names a file cdgate did not hand it."""
        record = SimpleNamespace(check_id="CKV_K8S_16", check_name="privileged", file_path="/elsewhere.yaml",
                                 file_abs_path="/elsewhere.yaml", file_line_range=[1, 5], resource="Pod.default.web")
        return [SimpleNamespace(failed_checks=[record], passed_checks=[], resources=set())]

    monkeypatch.setattr(checkov, "_run_framework", fake_runner_reporting_elsewhere)
    pod = Document(obj={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}, path="chart/templates/pod.yaml", origin="helm")
    [error] = checkov.scan_documents([pod]).results
    assert error.level is Level.ERROR and "CKV_K8S_16" in error.message and error.location.path == "chart/templates/pod.yaml"
