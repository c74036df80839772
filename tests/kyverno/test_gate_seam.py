"""The seam to the gate: load_policies + KyvernoPolicySet.evaluate -> RawResults."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engines.base import Level
from scanner.engines.kyverno import load_policies
from scanner.inputs.yamlpos import load_yaml_documents

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "policies" / "kyverno"

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:latest
          securityContext:
            privileged: true
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: b
---
just: a values file
"""


@pytest.fixture(scope="module")
def results():
    documents = load_yaml_documents(MANIFEST, "apps/web.yaml")
    policy_set = load_policies([BUNDLED])
    return documents, policy_set.evaluate(documents)


def test_failures_carry_rule_id_severity_title_and_action(results) -> None:
    _documents, raw = results
    privileged = [r for r in raw if r.rule_id == "kyverno:cdgate-disallow-privileged-containers/autogen-privileged-containers"]
    assert len(privileged) == 1
    result = privileged[0]
    assert result.engine == "kyverno"
    assert result.policy == "cdgate-disallow-privileged-containers"
    assert result.level is Level.DENY
    assert result.severity == "high"
    assert result.title == "Disallow privileged containers"
    assert result.properties["action"] == "Enforce"
    assert result.document is not None and result.document.name == "web"


def test_failing_field_points_at_its_line(results) -> None:
    _documents, raw = results
    result = next(r for r in raw if r.rule_id.endswith("/autogen-privileged-containers"))
    assert result.json_path == "spec.template.spec.containers[0].securityContext.privileged"
    assert result.document.line_for(result.json_path) == MANIFEST.splitlines().index("            privileged: true") + 1


def test_audit_policies_still_deny_and_say_so(results) -> None:
    _documents, raw = results
    probes = [r for r in raw if r.policy == "cdgate-require-probes"]
    assert probes and all(r.level is Level.DENY and r.properties["action"] == "Audit" for r in probes)
    assert all(r.severity == "low" for r in probes)


def test_non_resources_and_passing_rules_give_nothing(results) -> None:
    documents, raw = results
    assert len(documents) == 3
    assert not any(r.document is documents[2] for r in raw)
    assert not any(r.document is documents[1] for r in raw)  # a plain ConfigMap breaks no bundled rule
    assert all(r.level in (Level.DENY, Level.WARN, Level.ERROR) for r in raw)


def test_engine_errors_are_error_results(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        """
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: needs-cluster}
spec:
  rules:
    - name: lookup
      match: {any: [{resources: {kinds: [ConfigMap]}}]}
      context:
        - name: other
          configMap: {name: other, namespace: default}
      validate:
        deny:
          conditions:
            any: [{key: "{{ other.data.x }}", operator: Equals, value: "1"}]
"""
    )
    documents = load_yaml_documents(MANIFEST, "apps/web.yaml")
    raw = load_policies([policy]).evaluate(documents)
    assert [r.level for r in raw] == [Level.ERROR]
    assert "needs-cluster" in raw[0].message and "lookup" in raw[0].message


def test_unscored_policy_failures_are_warnings(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        """
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: advisory
  annotations: {policies.kyverno.io/scored: "false"}
spec:
  rules:
    - name: no-configmaps
      match: {any: [{resources: {kinds: [ConfigMap]}}]}
      validate:
        deny: {}
"""
    )
    raw = load_policies([policy]).evaluate(load_yaml_documents(MANIFEST, "apps/web.yaml"))
    assert [r.level for r in raw] == [Level.WARN]


def test_foreach_failure_points_at_the_element_field(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        """
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: per-container}
spec:
  rules:
    - name: non-root
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        foreach:
          - list: request.object.spec.containers
            pattern:
              securityContext: {runAsNonRoot: true}
"""
    )
    manifest = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n"
        "  - name: a\n    securityContext: {runAsNonRoot: true}\n"
        "  - name: b\n    securityContext:\n      runAsNonRoot: false\n"
    )
    documents = load_yaml_documents(manifest, "pod.yaml")
    [result] = load_policies([policy]).evaluate(documents)
    assert result.json_path == "spec.containers[1].securityContext.runAsNonRoot"
    assert result.document.line_for(result.json_path) == 10


def test_failure_action_overrides_by_namespace(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        """
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: labels}
spec:
  validationFailureAction: Audit
  validationFailureActionOverrides:
    - {action: Enforce, namespaces: ["prod-*"]}
  rules:
    - name: team-label
      match: {any: [{resources: {kinds: [ConfigMap]}}]}
      validate:
        pattern: {metadata: {labels: {team: "?*"}}}
"""
    )
    manifest = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {ns}}}" for ns in ("prod-eu", "dev")
    )
    raw = load_policies([policy]).evaluate(load_yaml_documents(manifest, "cm.yaml"))
    assert {r.document.namespace: r.properties["action"] for r in raw} == {"prod-eu": "Enforce", "dev": "Audit"}
    assert all(r.json_path == "metadata.labels" for r in raw)


def test_describe_lists_every_rule_for_the_catalogue() -> None:
    entries = load_policies([BUNDLED]).describe()
    ids = {e["rule_id"] for e in entries}
    assert "kyverno:cdgate-disallow-host-path/host-path" in ids
    assert "kyverno:cdgate-disallow-host-path/autogen-cronjob-host-path" in ids
    secret = next(e for e in entries if e["rule_id"] == "kyverno:cdgate-disallow-plaintext-secrets/no-secret-data")
    assert secret["severity"] == "critical" and secret["action"] == "Enforce"


def test_team_policy_path_without_kyverno_policies_stops_the_run(tmp_path: Path) -> None:
    from scanner.engines.kyverno import compile_for_profile
    from scanner.errors import PolicyError
    from scanner.profile import load_profile

    team = tmp_path / "team"
    team.mkdir()
    (team / "vpol.yaml").write_text(
        "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: x}\nspec: {}\n")
    (tmp_path / "gate.yaml").write_text("version: 1\nkyverno: {policies: [team]}\n")
    with pytest.raises(PolicyError, match="kyverno.policies .* holds no Kyverno ClusterPolicy") as caught:
        compile_for_profile(load_profile(tmp_path / "gate.yaml"), tmp_path)
    assert "cel.policies" in str(caught.value.hint)
