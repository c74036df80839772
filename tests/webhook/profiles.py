"""Profiles and objects shared by the webhook tests (written into each test's temp dir)."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

DIGEST = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"

IMMUTABLE_TEAM_LABEL = """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: immutable-team-label
  annotations:
    policies.kyverno.io/severity: high
spec:
  validationFailureAction: Enforce
  rules:
    - name: team-label-unchanged
      match:
        any:
          - resources:
              kinds: [Pod]
              operations: [UPDATE]
      validate:
        message: "label team is immutable (it was {{ request.oldObject.metadata.labels.team }})"
        deny:
          conditions:
            any:
              - key: "{{ request.object.metadata.labels.team || '' }}"
                operator: NotEquals
                value: "{{ request.oldObject.metadata.labels.team || '' }}"
"""

#: Within waivers.max_days (180) of the run date, as gate.yaml governance requires.
WAIVER_EXPIRES = (dt.date.today() + dt.timedelta(days=60)).isoformat()

PROFILE = """version: 1
name: webhook-test
fail_on: high
kyverno:
  policies: [kyverno]
waivers:
  - rule: CDG-K8S-001
    resource: {kind: Pod, namespace: node-agents, name: "agent-*"}
    reason: The node agent manages host networking and must run privileged.
    owner: sre@example.com
    expires: "{expires}"
webhook:
  exclude_labels: {cdgate.io/skip: "true"}
  rules:
    CDG-K8S-002: audit
""".replace("{expires}", WAIVER_EXPIRES)


def write_profile(directory: Path, text: str = PROFILE, *, kyverno: str = IMMUTABLE_TEAM_LABEL) -> Path:
    (directory / "kyverno").mkdir(parents=True, exist_ok=True)
    (directory / "kyverno" / "immutable-team-label.yaml").write_text(kyverno)
    path = directory / "gate.yaml"
    path.write_text(text)
    return path


GOOD_CONTAINER = {
    "name": "app",
    "image": f"registry.example.internal/shop/app@{DIGEST}",
    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
}


def pod_spec(**container_changes) -> dict:
    container = copy.deepcopy(GOOD_CONTAINER)
    for key, value in container_changes.items():
        if key == "securityContext":
            container["securityContext"] = {**container["securityContext"], **value}
        else:
            container[key] = value
    return {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }


def pod(name: str = "web", namespace: str = "shop", labels: dict | None = None, **container_changes) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name, "team": "shop"}},
        "spec": pod_spec(**container_changes),
    }


def deployment(name: str = "web", namespace: str = "shop", **container_changes) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(**container_changes)},
        },
    }


def cronjob(name: str = "nightly", namespace: str = "shop", **container_changes) -> dict:
    spec = pod_spec(**container_changes)
    spec["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
    }
