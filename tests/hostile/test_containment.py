"""Issue 15, "files and secrets leaking": nothing outside the root is read, no secret printed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile.fixtures import PRIVILEGED_POD, write
from tests.hostile.harness import SECRET, assert_contained, run_bounded

CONFIGMAP_TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: leak
data:
  env: {{ .Files.Get "files/env.txt" | quote }}
"""


def _chart(repo: Path, template: str = CONFIGMAP_TEMPLATE) -> Path:
    chart = repo / "chart"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    write(chart / "values.yaml", "replicas: 1\n")
    write(chart / "templates/cm.yaml", template)
    return chart


def test_chart_file_symlinked_to_proc_environ_is_refused_and_never_printed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    chart = _chart(repo)
    (chart / "files").mkdir()
    (chart / "files/env.txt").symlink_to("/proc/self/environ")
    out = tmp_path / "reports"
    run = run_bounded("check", "chart", "--output-dir", str(out), cwd=repo,
                      env={"COSIGN_PASSWORD": SECRET}, report_dir=out)
    assert_contained(run, 2)
    assert {"cdgate.json", "cdgate.sarif", "cdgate.md", "cdgate.html", "cdgate.junit.xml"} <= set(run.reports)
    assert "chart/files/env.txt" in run.reports["cdgate.json"]


def test_chart_template_symlinked_outside_the_root_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside/secret.yaml",
                    f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {SECRET}}}\n")
    repo = tmp_path / "repo"
    chart = _chart(repo, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
    (chart / "templates/outside.yaml").symlink_to(outside)
    run = run_bounded("check", "chart", "-f", "json", cwd=repo)
    assert_contained(run, 2)
    assert "chart/templates/outside.yaml" in run.stdout and "outside the scanned root" in run.stdout


def test_environment_values_symlinked_outside_the_root_are_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside/values.yaml", f"secret: {SECRET}\n")
    repo = tmp_path / "repo"
    _chart(repo, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {s: {{ .Values.secret | quote }}}\n")
    (repo / "environments/prod").mkdir(parents=True)
    (repo / "environments/prod/values.yaml").symlink_to(outside)
    run = run_bounded("check", ".", "--env", "prod", "-f", "json", cwd=repo)
    assert_contained(run, 2)
    assert "environments/prod/values.yaml" in run.stdout


@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/schema.json", "file:///etc/passwd", "../../outside.json"])
def test_values_schema_ref_outside_the_chart_is_not_resolved(tmp_path: Path, ref: str) -> None:
    repo = tmp_path / "repo"
    chart = _chart(repo, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
    write(chart / "values.schema.json", json.dumps({"type": "object", "properties": {"replicas": {"$ref": ref}}}))
    run = run_bounded("check", "chart", "-f", "json", cwd=repo)
    assert_contained(run, 2)
    assert "chart/values.schema.json" in run.stdout and "root:x:0" not in run.stdout


def test_values_schema_with_local_definitions_still_renders(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    chart = _chart(repo, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
    schema = {
        "$schema": "https://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"replicas": {"$ref": "#/definitions/count"}},
        "definitions": {"count": {"type": "integer"}},
    }
    write(chart / "values.schema.json", json.dumps(schema))
    run = run_bounded("check", "chart", "-f", "json", cwd=repo)
    assert_contained(run, 0)
    gates = {g["name"]: g for g in json.loads(run.stdout)["gates"]}
    assert gates["inputs"]["documents"] == 1


@pytest.mark.parametrize("literal", [SECRET, f"password {SECRET}"])
def test_secret_generator_literal_is_never_echoed(tmp_path: Path, literal: str) -> None:
    repo = tmp_path / "repo"
    write(repo / "app/kustomization.yaml", f"secretGenerator:\n- name: s\n  literals:\n  - {json.dumps(literal)}\n")
    out = tmp_path / "reports"
    run = run_bounded("check", "app", "-f", "json", "--output-dir", str(out), cwd=repo, report_dir=out)
    assert_contained(run, 2)
    assert "kubectl kustomize app failed" in run.stdout and "<redacted>" in run.stdout
    assert len(run.reports) == 5
