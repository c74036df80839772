"""Small templates and constraints written into a temp directory for the Gatekeeper tests."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

# A template that reports what it saw: the review's fields and the inventory.
ECHO_REGO = """\
package k8secho

violation[{"msg": msg, "details": {"review": input.review}}] {
  input.parameters.report
  msg := sprintf("%v %v %v/%v op=%v", [input.review.kind.group, input.review.kind.kind, object.get(input.review, "namespace", "-"), input.review.name, object.get(input.review, "operation", "-")])
}
"""

LABELS_REGO = """\
package k8srequiredlabelsx

violation[{"msg": msg, "details": {"missing_labels": missing}}] {
  provided := {label | input.review.object.metadata.labels[label]}
  required := {label | label := input.parameters.labels[_]}
  missing := required - provided
  count(missing) > 0
  msg := sprintf("you must provide labels: %v", [missing])
}
"""


def template(kind: str, rego: str, *, schema: dict[str, Any] | None = None, libs: list[str] | None = None,
             version: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"target": "admission.k8s.gatekeeper.sh", "rego": rego}
    if libs:
        target["libs"] = libs
    if version:
        target = {"target": "admission.k8s.gatekeeper.sh", "code": [{"engine": "Rego", "source": {"rego": rego, "libs": libs or [], "version": version}}]}
    crd: dict[str, Any] = {"names": {"kind": kind}}
    if schema is not None:
        crd["validation"] = {"openAPIV3Schema": schema}
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.lower()},
        "spec": {"crd": {"spec": crd}, "targets": [target]},
    }


def constraint(kind: str, name: str, *, match: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
               action: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if match is not None:
        spec["match"] = match
    if parameters is not None:
        spec["parameters"] = parameters
    if action is not None:
        spec["enforcementAction"] = action
    return {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def write(path: Path, *docs: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False))
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def pod(name: str = "web", namespace: str | None = "team-a", labels: dict[str, str] | None = None,
        privileged: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    container: dict[str, Any] = {"name": "app", "image": "nginx:1.25"}
    if privileged:
        container["securityContext"] = {"privileged": True}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [container]}}
