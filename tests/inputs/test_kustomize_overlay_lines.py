"""Issue 8, problem 4: Kustomize values located in the overlay or component that set them.

The base says `privileged: false` and `nginx:1.25` with one replica; the prod
overlay flips privileged with a strategic merge patch, sets replicas with a
JSON 6902 patch, moves the image to `latest` with `images:`, prefixes names,
and pulls in a component whose inline patch adds an env var. (A JSON 6902
path with a list index is located only when the index still holds in the
final output: kustomize reorders items a strategic merge patch touches.) Each finding
must land on the overlay or component line, where a pull request changing
only the overlay gets its annotation.
"""

from __future__ import annotations

import json

import pytest

from conftest import run_cdgate
from inputs_helpers import line_of, write
from scanner.inputs.loader import LoadOptions, load_targets

APP = {
    "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
    "base/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: sidecar
                  image: busybox:1.36
                - name: nginx
                  image: nginx:1.25
                  securityContext:
                    privileged: false
    """,
    "components/debug/kustomization.yaml": """
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        patches:
          - patch: |-
              apiVersion: apps/v1
              kind: Deployment
              metadata:
                name: web
              spec:
                template:
                  spec:
                    containers:
                      - name: nginx
                        env:
                          - name: API_TOKEN
                            value: "t0ken-literal-123"
    """,
    "overlays/prod/kustomization.yaml": """
        resources:
          - ../../base
        components:
          - ../../components/debug
        namePrefix: prod-
        images:
          - name: nginx
            newTag: latest
        patches:
          - path: privileged.yaml
          - path: replicas.yaml
            target: {kind: Deployment, name: web}
    """,
    "overlays/prod/privileged.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          template:
            spec:
              containers:
                - name: nginx
                  securityContext:
                    privileged: true
    """,
    "overlays/prod/replicas.yaml": """
        - op: replace
          path: /spec/replicas
          value: 3
    """,
}


def rendered(tmp_path):
    write(tmp_path / "web", APP)
    result = load_targets([tmp_path / "web/overlays/prod"], LoadOptions(root=tmp_path))
    assert not result.problems
    [deployment] = result.documents
    assert deployment.name == "prod-web"
    return deployment, tmp_path / "web"


def container(deployment, name):
    """Kustomize reorders patched list items: find the container by name."""
    [index] = [i for i, c in enumerate(deployment.obj["spec"]["template"]["spec"]["containers"]) if c["name"] == name]
    return f"spec.template.spec.containers[{index}]"


def test_strategic_merge_patch_field_points_at_the_patch(tmp_path):
    deployment, app = rendered(tmp_path)
    assert deployment.source_for(f"{container(deployment, 'nginx')}.securityContext.privileged") == (
        "web/overlays/prod/privileged.yaml", line_of(app / "overlays/prod/privileged.yaml", "privileged: true"),
    )


def test_json6902_images_and_prefix_point_at_the_overlay(tmp_path):
    deployment, app = rendered(tmp_path)
    kustomization = app / "overlays/prod/kustomization.yaml"
    assert deployment.source_for("spec.replicas") == (
        "web/overlays/prod/replicas.yaml", line_of(app / "overlays/prod/replicas.yaml", "path: /spec/replicas"),
    )
    assert deployment.source_for(f"{container(deployment, 'nginx')}.image") == (
        "web/overlays/prod/kustomization.yaml", line_of(kustomization, "newTag: latest"),
    )
    assert deployment.source_for("metadata.name") == (
        "web/overlays/prod/kustomization.yaml", line_of(kustomization, "namePrefix"),
    )


def test_a_component_patch_points_at_the_component(tmp_path):
    deployment, app = rendered(tmp_path)
    component = app / "components/debug/kustomization.yaml"
    assert deployment.source_for(f"{container(deployment, 'nginx')}.env[0].value") == (
        "web/components/debug/kustomization.yaml", line_of(component, 'value: "t0ken-literal-123"'),
    )


def test_fields_nobody_patched_stay_in_the_base(tmp_path):
    deployment, app = rendered(tmp_path)
    base = app / "base/deployment.yaml"
    assert deployment.source_for(f"{container(deployment, 'sidecar')}.image") == (
        "web/base/deployment.yaml", line_of(base, "image: busybox"),
    )


@pytest.mark.slow
def test_the_report_annotates_the_overlay_lines(tmp_path):
    write(tmp_path / "web", APP)
    done = run_cdgate("check", str(tmp_path / "web/overlays/prod"), "--root", str(tmp_path), "-f", "json")
    findings = json.loads(done.stdout)["findings"]
    where = {f["rule_id"]: (f["location"]["path"], f["location"]["start_line"]) for f in findings}
    assert where["CDG-K8S-001"] == ("web/overlays/prod/privileged.yaml",
                                    line_of(tmp_path / "web/overlays/prod/privileged.yaml", "privileged: true"))
    assert where["CDG-K8S-060"][0] == "web/overlays/prod/kustomization.yaml"
