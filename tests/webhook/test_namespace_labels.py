"""Namespace labels from --namespace-labels reach namespaceSelector policies and label exclusions, and follow the file."""

from __future__ import annotations

import time

from webhook.conftest import post, review, start_webhook
from webhook.profiles import pod, write_profile

RESTRICTED_NEEDS_OWNER = """apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: restricted-needs-owner
  annotations:
    policies.kyverno.io/severity: high
spec:
  validationFailureAction: Enforce
  rules:
    - name: owner-label
      match:
        any:
          - resources:
              kinds: [Pod]
              namespaceSelector:
                matchLabels:
                  tier: restricted
      validate:
        message: "pods in restricted namespaces need an owner label"
        pattern:
          metadata:
            labels:
              owner: "?*"
"""


def test_namespace_selector_and_namespace_label_exclusion(tmp_path):
    labels = tmp_path / "namespaces.yaml"
    labels.write_text("vault: {tier: restricted}\nsandbox: {cdgate.io/skip: 'true'}\n")
    profile = write_profile(tmp_path, "version: 1\nname: ns\nkyverno:\n  policies: [kyverno]\nwebhook:\n  exclude_labels: {cdgate.io/skip: 'true'}\n",
                            kyverno=RESTRICTED_NEEDS_OWNER)
    server = start_webhook(tmp_path, profile, namespace_labels=labels, watch_interval_s=0.1)
    try:
        with server.client() as http:
            restricted = post(http, review(pod(name="api", namespace="vault")))
            assert restricted["allowed"] is False
            assert "[kyverno:restricted-needs-owner/owner-label high]" in restricted["status"]["message"]
            owned = pod(name="api", namespace="vault", labels={"owner": "secrets-team"})
            assert post(http, review(owned))["allowed"] is True
            assert post(http, review(pod(name="api", namespace="shop")))["allowed"] is True  # not restricted
            sandbox = post(http, review(pod(name="x", namespace="sandbox", securityContext={"privileged": True})))
            assert sandbox["allowed"] is True and "label cdgate.io/skip=true is excluded" in sandbox["status"]["message"]

            labels.write_text("vault: {tier: open}\nshop: {tier: restricted}\n")  # relabelled while serving
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and server.state.namespace_store("shop") != {"tier": "restricted"}:
                time.sleep(0.05)
            assert post(http, review(pod(name="api", namespace="shop")))["allowed"] is False
            assert post(http, review(pod(name="api", namespace="vault")))["allowed"] is True
    finally:
        server.stop()
