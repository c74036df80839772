"""Small hostile fixtures, written into a test's tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

DIGEST = "sha256:" + "0" * 64

PRIVILEGED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "evil"},
    "spec": {
        "containers": [
            {"name": "c", "image": f"nginx@{DIGEST}", "securityContext": {"privileged": True}}
        ]
    },
}

BENIGN_POD_YAML = textwrap.dedent(
    f"""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: fine
      labels: {{app: fine, owner: team}}
    spec:
      automountServiceAccountToken: false
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: c
        image: registry.example/app@{DIGEST}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          capabilities: {{drop: [ALL]}}
        resources:
          limits: {{cpu: 100m, memory: 64Mi}}
          requests: {{cpu: 100m, memory: 64Mi}}
    """
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def profile(repo: Path, body: str) -> Path:
    """A gate.yaml at the repo root."""
    return write(repo / "gate.yaml", "version: 1\nname: hostile\n" + textwrap.dedent(body))
