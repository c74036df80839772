"""Hints for the common first mistakes: a chart template or a values file as the target, an empty policy folder."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHART = REPO / "examples" / "cd-repo" / "services" / "service-b"


def test_a_helm_template_file_points_at_its_chart(tmp_path, cdgate):
    chart = tmp_path / "service-b"
    shutil.copytree(CHART, chart)
    result = cdgate("check", str(chart / "templates" / "deployment.yaml"), "-q")
    assert result.returncode == 2
    assert "deployment.yaml: a template of the Helm chart service-b" in result.stderr
    assert f"point at the chart directory instead: cdgate check {chart}" in result.stderr
    assert "complex" not in result.stderr


def test_a_values_file_as_the_target_says_to_pass_it_with_values(tmp_path, cdgate):
    chart = tmp_path / "service-b"
    shutil.copytree(CHART, chart)
    result = cdgate("check", str(chart / "values.yaml"), "-q")
    assert result.returncode == 2
    assert "a Helm values file, not a manifest" in result.stderr and "--values" in result.stderr


def test_a_policy_directory_without_rego_says_so(tmp_path, cdgate):
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    empty = tmp_path / "policy"
    empty.mkdir()
    (empty / "README.md").write_text("policies go here\n")
    result = cdgate("check", str(tmp_path / "k8s"), "-p", str(empty))
    assert result.returncode == 2
    assert "policy directory holds no .rego files" in result.stderr and str(empty) in result.stderr
    kyverno = tmp_path / "kyverno"
    shutil.copytree(REPO / "examples" / "cd-repo" / "policies" / "kyverno", kyverno)
    result = cdgate("check", str(tmp_path / "k8s"), "-p", str(kyverno))
    assert result.returncode == 2 and "list it under kyverno.policies" in result.stderr


def test_a_manifest_named_like_values_is_still_read(tmp_path, cdgate):
    manifest = tmp_path / "environments" / "prod" / "app-values.yaml"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-values, namespace: shop}\ndata: {a: b}\n")
    result = cdgate("check", str(manifest), "-q")
    assert result.returncode == 0, result.stderr
