"""The same manifests give the same rule ids, severities and waiver decisions from `cdgate check` and the webhook.

`cdgate check examples/cd-repo --env prod` runs as a user runs it; then every
resource it rendered is sent to the webhook (same gate.yaml, same
environment) over HTTPS as an AdmissionReview, and the findings the webhook
records per object are compared with CI's findings for that object.
Cross-resource Rego packages (`input_mode := "repo"`) are CI's alone: one
admitted object cannot show its namespace's ResourceQuota, so they are left
out of both sides, and the test checks that the webhook indeed omits them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from webhook.conftest import post, review, start_webhook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cd-repo"
ENV = "prod"


def cross_resource_packages(profile) -> set[str]:
    from scanner.engines.rego import compile_for_profile

    engine = compile_for_profile(profile.for_environment(ENV), EXAMPLE)
    return {p.name for p in engine.repo_packages}


@pytest.mark.slow
def test_check_and_webhook_agree_on_the_example_repo(tmp_path, cdgate, repo_root):
    from scanner.inputs.loader import LoadOptions, load_targets
    from scanner.profile import load_profile

    profile = load_profile(EXAMPLE / "gate.yaml")
    report = tmp_path / "ci.json"
    ran = cdgate("check", str(EXAMPLE), "--env", ENV, "-f", "json", "-o", str(report), "--root", str(repo_root))
    assert ran.returncode in (0, 1), ran.stderr
    ci = json.loads(report.read_text())
    repo_packages = cross_resource_packages(profile)
    assert repo_packages, "the bundled policies have cross-resource packages; the exclusion below must mean something"

    def key(kind, namespace, name, rule, severity, outcome, waived, path):
        return (kind, namespace or None, name, rule, severity, outcome, waived, path)

    expected: Counter = Counter()
    left_to_ci = 0
    for f in ci["findings"]:
        if f["gate"] == "profile":
            continue  # notices about gate.yaml itself, not about a resource
        if f["properties"].get("policy") in repo_packages:
            left_to_ci += 1
            continue
        loc = f["location"]
        waived = bool(f["waiver"]) and not f["waiver"]["expired"]
        expected[key(loc["kind"], loc["namespace"], loc["name"], f["rule_id"], f["severity"], f["outcome"], waived, loc["json_path"])] += 1
    assert left_to_ci > 0

    loaded = load_targets([str(EXAMPLE)], LoadOptions(root=repo_root, environment=ENV, mode="auto",
                                                       max_file_bytes=profile.inputs.max_file_bytes))
    assert not loaded.problems
    resources = [d for d in loaded.documents if d.is_resource]
    assert len(resources) >= 10

    server = start_webhook(tmp_path, EXAMPLE / "gate.yaml", environment=ENV)
    got: Counter = Counter()
    denied_objects, failing_objects = set(), set()
    try:
        with server.client() as http:
            for document in resources:
                response = post(http, review(document.obj, namespace=document.namespace))
                identity = (document.kind, document.namespace, document.name)
                if not response["allowed"]:
                    denied_objects.add(identity)
                for f in json.loads(response.get("auditAnnotations", {}).get("findings", "[]")):
                    got[key(*identity, f["rule"], f["severity"], f["outcome"], f["waived"], f["path"])] += 1
    finally:
        server.stop()
    for f in ci["findings"]:
        if f["gate"] != "profile" and f["properties"].get("policy") not in repo_packages and f["state"] in ("fail", "expired-waiver"):
            failing_objects.add((f["location"]["kind"], f["location"]["namespace"], f["location"]["name"]))

    assert got == expected
    assert any(k[6] for k in expected), "the example's valid waiver must be among the compared findings"
    assert denied_objects == failing_objects and denied_objects
