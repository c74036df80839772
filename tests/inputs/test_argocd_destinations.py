"""Issue 8, problem 8: documents without a namespace are where Argo CD deploys them.

The fixture repo has an Application for a plain-manifest app and for a chart
(whose templates read `.Release.Namespace`), an ApplicationSet with a git
directory generator over `apps/teams/*` and a list generator, and one folder
no application deploys.
"""

from __future__ import annotations

import json

from conftest import run_cdgate
from inputs_helpers import write
from scanner.inputs.loader import LoadOptions, load_targets

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
"""

REPO = {
    "argocd/guestbook.yaml": """
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: guestbook, namespace: argocd}
        spec:
          project: shop
          source: {repoURL: https://git.example.internal/cd.git, path: apps/guestbook}
          destination: {server: https://kubernetes.default.svc, namespace: guestbook}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Application
        metadata: {name: web, namespace: argocd}
        spec:
          project: shop
          source: {repoURL: https://git.example.internal/cd.git, path: charts/web}
          destination: {server: https://kubernetes.default.svc, namespace: web-prod}
    """,
    "argocd/teams.yaml": """
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: teams, namespace: argocd}
        spec:
          goTemplate: true
          generators:
            - git:
                repoURL: https://git.example.internal/cd.git
                directories:
                  - path: apps/teams/*
                  - path: apps/teams/legacy
                    exclude: true
          template:
            metadata: {name: "team-{{ .path.basename }}"}
            spec:
              project: shop
              source: {repoURL: https://git.example.internal/cd.git, path: "{{ .path.path }}"}
              destination: {server: https://kubernetes.default.svc, namespace: "team-{{ .path.basename }}"}
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: ApplicationSet
        metadata: {name: jobs, namespace: argocd}
        spec:
          generators:
            - list:
                elements:
                  - {job: nightly, ns: batch}
          template:
            metadata: {name: "{{job}}"}
            spec:
              project: shop
              source: {repoURL: https://git.example.internal/cd.git, path: "apps/{{job}}"}
              destination: {server: https://kubernetes.default.svc, namespace: "{{ns}}"}
    """,
    "apps/guestbook/deployment.yaml": DEPLOYMENT.format(name="guestbook"),
    "apps/guestbook/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules: []\n",
    "apps/teams/alpha/deployment.yaml": DEPLOYMENT.format(name="alpha"),
    "apps/teams/legacy/deployment.yaml": DEPLOYMENT.format(name="legacy"),
    "apps/nightly/deployment.yaml": DEPLOYMENT.format(name="nightly"),
    "apps/orphan/deployment.yaml": DEPLOYMENT.format(name="orphan"),
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    "charts/web/templates/deployment.yaml": DEPLOYMENT.format(name="web").replace(
        "  name: web\n", "  name: web\n  namespace: {{ .Release.Namespace }}\n"
    ),
}


def namespaces(tmp_path, **options) -> dict[str, str | None]:
    write(tmp_path, REPO)
    result = load_targets([tmp_path], LoadOptions(root=tmp_path, **options))
    assert not result.blocking_problems
    return {d.name: d.namespace for d in result.documents if d.kind in ("Deployment", "ClusterRole")}


def test_documents_take_their_application_destination(tmp_path):
    found = namespaces(tmp_path)
    assert found["guestbook"] == "guestbook"  # Application, plain manifests
    assert found["web"] == "web-prod"  # Application, chart rendered into the destination namespace
    assert found["alpha"] == "team-alpha"  # ApplicationSet, git directories generator
    assert found["nightly"] == "batch"  # ApplicationSet, list generator, older {{param}} syntax
    assert found["legacy"] is None  # excluded by the generator
    assert found["orphan"] is None  # no application: lands in default
    assert found["reader"] is None  # cluster-scoped kinds never get a namespace


def test_default_namespace_from_the_profile_fills_the_rest(tmp_path):
    found = namespaces(tmp_path, default_namespace="platform")
    assert found["orphan"] == "platform" and found["legacy"] == "platform"
    assert found["guestbook"] == "guestbook"


def test_workloads_in_default_are_flagged_per_resource(tmp_path):
    write(tmp_path, REPO)
    done = run_cdgate("check", str(tmp_path), "--root", str(tmp_path), "-f", "json")
    report = json.loads(done.stdout)
    flagged = sorted(f["location"]["name"] for f in report["findings"] if f["rule_id"] == "CDG-K8S-094")
    assert flagged == ["legacy", "orphan"]
    [orphan] = [f for f in report["findings"] if f["rule_id"] == "CDG-K8S-094" and f["location"]["name"] == "orphan"]
    assert orphan["location"]["path"] == "apps/orphan/deployment.yaml" and orphan["severity"] == "low"
