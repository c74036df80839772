"""The merge gate end to end: a git CD repo (from examples/cd-repo), the real local registry, six PRs.

Base (main): service-a runs image A in prod and image B in dev and staging,
both signed with the test key and carrying a gate-verdict attestation from a
passed build under the policy bundle in force. gate.yaml requires that
attestation for prod, with a Rego condition on its verdict and on its bundle
digest against `data.cdgate.policy_bundle_digest` (the bundle in force, given
by the signature gate), and sets the promotion order dev -> staging -> prod. The planted violations of
service-b and the argocd folder stay throughout: they are the "old" findings.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from merge.gitrepo import GitRepo
from scanner.merge.run import MergeRequest, run_merge_gate
from scanner.policy_bundle import policy_bundle_digest
from scanner.profile import load_profile
from scanner.report import render
from scanner.supplychain.cosign import ImageTarget, attest_image, sign_image
from scanner.supplychain.intoto import gate_verdict_predicate, resolve_predicate_type
from scanner.supplychain.keys import public_key_pem
from scanner.supplychain.oci import open_repository
from scanner.supplychain.reference import parse_reference
from supplychain.images import push_image

PROD_VALUES = "environments/prod/service-a/values.yaml"
OLD_PROD_DIGEST = 'digest: "sha256:56aabd3e55b75f51337f692e21cfaa998bdb81acfe69dab5b5de2f4548a052cc"'

CONDITION = """\
package cdgate.attestation
deny contains msg if {
  input.verdict != "passed"
  msg := sprintf("the build gate verdict was %s", [input.verdict])
}
deny contains msg if {
  input.policyBundle.digest.sha256 != trim_prefix(data.cdgate.policy_bundle_digest, "sha256:")
  msg := "the build gate ran another policy bundle"
}
"""


def gate_yaml_extra(host: str) -> str:
    condition = "\n".join("          " + line for line in CONDITION.splitlines())
    return f"""
promotion: [dev, staging, prod]
gates:
  manifest: {{enabled: true}}
  signature:
    environments: [prod]
    trusted_keys: [keys/cosign.pub]
    registries:
      "{host}": {{insecure: true}}
    exempt_images: ["registry.example.internal/*", "busybox*", "docker.io/*"]
    attestations:
      - name: build-gate
        type: gate-verdict
        condition: |
{condition}
"""


def merge_gate(repo: GitRepo, base: str, head: str, *, today: str = "2026-11-30", block_unchanged: bool = False) -> tuple[int, dict, str]:
    """The merge gate in process (the CLI is tested in test_merge_cli): exit code, SARIF log, a summary line."""
    verdict = run_merge_gate(
        MergeRequest(repo=repo.path, base=base, head=head, today=dt.date.fromisoformat(today), block_unchanged=block_unchanged)
    )
    log = json.loads(render(verdict, "sarif"))
    summary = (
        f"{verdict.status}: {len(verdict.units)} unit(s); failing {[f.rule_id for f in verdict.failing()]}; "
        f"errors {[f.message for f in verdict.errors]}"
    )
    return verdict.exit_code, log, summary


def results(log: dict) -> list[dict]:
    return log["runs"][0]["results"]


def failing(log: dict) -> list[dict]:
    return [r for r in results(log) if r["level"] == "error" and not r.get("suppressions")]


@pytest.fixture(scope="module")
def cd_repo(tmp_path_factory, registry, signing_key):
    """The CD repo at main, and the image digests the PRs use."""
    from scanner.supplychain.oci import RegistryOptions

    options = RegistryOptions(insecure=frozenset({registry.host}), timeout=10.0)
    reference = parse_reference(f"{registry.host}/shop/service-a:v1")
    repository = open_repository(reference, options)
    repo = GitRepo.from_example(tmp_path_factory.mktemp("merge") / "cd-repo")
    repo.write("keys/cosign.pub", public_key_pem(signing_key.public_key()).decode())
    with (repo.path / "gate.yaml").open("a") as handle:
        handle.write(gate_yaml_extra(registry.host))
    # what the build gate records; the condition compares it with the bundle in force at merge time
    bundle = policy_bundle_digest(load_profile(repo.path / "gate.yaml"))

    digests = {}
    # A, B, D: signed, passed the build gate under this bundle. C: unsigned. E: signed, build skipped
    # the gate (no gate-verdict). F: signed, gate passed under another policy bundle.
    for name in ("A", "B", "C", "D", "E", "F"):
        digest = push_image(repository, name.lower(), {"app": name.encode()})
        target = ImageTarget(reference.with_digest(digest), repository, digest)
        if name != "C":
            sign_image(target, signing_key)
        if name in "ABDF":
            predicate = gate_verdict_predicate(
                verdict="passed",
                counts={},
                policy_bundle_digest=bundle if name != "F" else "sha256:" + "2" * 64,
                profile_digest="sha256:" + "1" * 64,
            )
            attest_image(target, signing_key, resolve_predicate_type("gate-verdict"), predicate)
        digests[name] = digest
    repository.close()

    image = f"{registry.host}/shop/service-a"
    repo.replace(PROD_VALUES, OLD_PROD_DIGEST, f'repository: {image}\n  digest: "{digests["A"]}"')
    for env in ("dev", "staging"):
        repo.replace(f"environments/{env}/service-a/values.yaml", "image:\n", f'image:\n  repository: {image}\n  digest: "{digests["B"]}"\n')
    repo.commit("base: service-a A in prod, B in dev and staging")
    return repo, digests


def pull_request(repo: GitRepo, name: str, change) -> str:
    repo.branch(name)
    change(repo)
    repo.commit(name)
    repo.git("checkout", "-q", "main")
    return name


@pytest.mark.registry
@pytest.mark.slow
def test_six_pull_requests(cd_repo):
    repo, digests = cd_repo

    # PR 1: bump prod to B: signed, attested by a passed build gate, already in staging -> pass.
    pr1 = pull_request(repo, "pr1", lambda r: r.replace(PROD_VALUES, digests["A"], digests["B"]))
    code, log, err = merge_gate(repo, "main", pr1)
    assert code == 0, err
    assert not failing(log)
    signature_gate = [g for g in log["runs"][0]["properties"]["cdgate/gates"] if g["name"] == "signature"]
    assert signature_gate and signature_gate[0]["skipped"] is None and signature_gate[0]["documents"] > 0
    states = {r.get("baselineState") for r in results(log)}
    assert "unchanged" in states  # service-a's old findings in dev/staging/prod were evaluated at both refs

    # PR 2: a privileged container -> fail; SARIF points at the line and marks it new.
    template = "services/service-a/templates/deployment.yaml"
    lines = (repo.path / template).read_text().splitlines()
    line_no = next(i for i, line in enumerate(lines, 1) if "allowPrivilegeEscalation" in line)
    indent = lines[line_no - 1][: len(lines[line_no - 1]) - len(lines[line_no - 1].lstrip())]
    pr2 = pull_request(repo, "pr2", lambda r: r.replace(template, lines[line_no - 1], f"{indent}privileged: true\n{lines[line_no - 1]}"))
    code, log, err = merge_gate(repo, "main", pr2)
    assert code == 1, err
    privileged = [r for r in failing(log) if r["ruleId"] == "CDG-K8S-001"]
    assert privileged, [r["ruleId"] for r in failing(log)]
    for result in privileged:
        region = result["locations"][0]["physicalLocation"]
        assert region["artifactLocation"]["uri"].endswith(template)
        assert region["region"]["startLine"] == line_no
        assert result["baselineState"] == "new"
    assert {r["baselineState"] for r in failing(log)} == {"new"}
    signature_gate = next(g for g in log["runs"][0]["properties"]["cdgate/gates"] if g["name"] == "signature")
    assert signature_gate["skipped"] == "the change brings no new image reference"  # no registry call for old images

    # PR 3: an unsigned image -> fail.
    pr3 = pull_request(repo, "pr3", lambda r: r.replace(PROD_VALUES, digests["A"], digests["C"]))
    code, log, err = merge_gate(repo, "main", pr3)
    assert code == 1, err
    assert {r["ruleId"] for r in failing(log)} >= {"CDG-SUP-003"}
    assert all(r["baselineState"] == "new" for r in failing(log))

    # PR 3b/3c: signed, but the build skipped the gate / ran other policies -> fail.
    for name, rule, words in (("E", "CDG-SUP-004", "build-gate"), ("F", "CDG-SUP-005", "another policy bundle")):
        branch = pull_request(repo, f"pr3-{name}", lambda r, n=name: r.replace(PROD_VALUES, digests["A"], digests[n]))
        code, log, err = merge_gate(repo, "main", branch)
        assert code == 1, err
        evidence = [r for r in failing(log) if r["ruleId"] == rule]
        assert evidence and words in evidence[0]["message"]["text"]
        assert {r["ruleId"] for r in failing(log)} == {rule, "CDG-PRM-001"}  # nor is it in staging

    # PR 4: a hostNetwork Pod covered only by an expired waiver -> fail.
    pod = DEBUG_POD % {"image": f"{_image(repo)}@{digests['B']}"}

    def add_debug_pod(r: GitRepo) -> None:
        r.write("environments/prod/debug.yaml", pod)
        r.replace("gate.yaml", "waivers:\n", "waivers:\n" + WAIVER)

    pr4 = pull_request(repo, "pr4", add_debug_pod)
    code, log, err = merge_gate(repo, "main", pr4)
    assert code == 1, err
    host_network = [r for r in failing(log) if r["ruleId"] == "CDG-K8S-002" and r["properties"].get("name") == "debug"]
    assert host_network and host_network[0]["properties"]["cdgate/expiredWaiver"]["expires"] == "2026-06-30"
    assert host_network[0]["baselineState"] == "new"
    # the same PR judged before the waiver expired: that finding is waived, not failing
    _, log_before, _ = merge_gate(repo, "main", pr4, today="2026-06-01")
    assert not [r for r in failing(log_before) if r["ruleId"] == "CDG-K8S-002" and r["properties"].get("name") == "debug"]

    # PR 5: docs only, old violations remain -> pass.
    pr5 = pull_request(repo, "pr5", lambda r: r.write("README.md", (r.path / "README.md").read_text() + "\nMore words.\n"))
    code, log, err = merge_gate(repo, "main", pr5)
    assert code == 0, err
    assert "0 unit(s)" in err

    # PR 5b: touch service-b (old critical violations stay) -> pass by default, fail with --all.
    pr5b = pull_request(repo, "pr5b", lambda r: r.replace("environments/prod/service-b/values.yaml", "replicaCount: 3", "replicaCount: 4"))
    code, log, err = merge_gate(repo, "main", pr5b)
    assert code == 0, err
    old = [r for r in results(log) if r["ruleId"] == "CDG-K8S-001"]
    assert old and {r["baselineState"] for r in old} == {"unchanged"} and {r["level"] for r in old} != {"error"}
    code_all, _, err_all = merge_gate(repo, "main", pr5b, block_unchanged=True)
    assert code_all == 1, err_all

    # PR 6: promote to prod a digest never deployed in staging -> fail with the promotion rule.
    pr6 = pull_request(repo, "pr6", lambda r: r.replace(PROD_VALUES, digests["A"], digests["D"]))
    code, log, err = merge_gate(repo, "main", pr6)
    assert code == 1, err
    assert {r["ruleId"] for r in failing(log)} == {"CDG-PRM-001"}
    assert failing(log)[0]["baselineState"] == "new"
    assert digests["D"] in failing(log)[0]["message"]["text"]


@pytest.mark.registry
def test_moved_finding_stays_unchanged(cd_repo):
    repo, _ = cd_repo
    template = "services/service-b/templates/deployment.yaml"
    original = (repo.path / template).read_text()
    first_privileged = next(i for i, line in enumerate(original.splitlines(), 1) if "privileged: true" in line)
    moved = pull_request(repo, "moved", lambda r: r.write(template, "{{/* three\nnew\nlines */}}\n" + original))
    code, log, err = merge_gate(repo, "main", moved)
    assert code == 0, err
    privileged = [r for r in results(log) if r["ruleId"] == "CDG-K8S-001" and r["properties"]["name"] == "service-b"]
    assert privileged
    for result in privileged:
        assert result["baselineState"] == "unchanged"
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == first_privileged + 3


def _image(repo: GitRepo) -> str:
    text = (repo.path / PROD_VALUES).read_text()
    return next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("repository:"))


DEBUG_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: storefront-prod
  labels: {owner: sre}
spec:
  hostNetwork: true
  containers:
    - name: debug
      image: %(image)s
"""

WAIVER = """\
  - rule: CDG-K8S-002
    resource: {kind: Pod, namespace: storefront-prod, name: debug}
    reason: Debugging the node network during the incident.
    owner: sre@example.com
    expires: "2026-06-30"
"""
