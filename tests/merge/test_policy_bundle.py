"""The policy bundle digest: the same policies give the same digest wherever they are checked out."""

from __future__ import annotations

import shutil
from pathlib import Path

from scanner.policy_bundle import policy_bundle_digest, policy_bundle_files
from scanner.profile import load_profile

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cd-repo"


def copy_profile(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLE / "policies", target / "policies")
    shutil.copy(EXAMPLE / "gate.yaml", target / "gate.yaml")
    return target / "gate.yaml"


def test_digest_is_independent_of_the_checkout_location(tmp_path):
    first = policy_bundle_digest(load_profile(copy_profile(tmp_path, "one")))
    second = policy_bundle_digest(load_profile(copy_profile(tmp_path, "elsewhere/two")))
    assert first == second
    assert first.startswith("sha256:") and len(first) == 71


def test_bundle_holds_bundled_and_team_policies(tmp_path):
    labels = [f.label for f in policy_bundle_files(load_profile(copy_profile(tmp_path, "p")))]
    assert "policies/kyverno/require-owner-label.yaml" in labels
    assert any(label.startswith("cdgate:rego/") and label.endswith(".rego") for label in labels)
    assert labels == sorted(labels)


def test_any_policy_edit_changes_the_digest(tmp_path):
    gate = copy_profile(tmp_path, "p")
    before = policy_bundle_digest(load_profile(gate))
    policy = gate.parent / "policies" / "kyverno" / "require-owner-label.yaml"
    policy.write_text(policy.read_text() + "\n# reviewed\n")
    assert policy_bundle_digest(load_profile(gate)) != before


def test_profile_without_bundled_rego_has_another_digest(tmp_path):
    gate = copy_profile(tmp_path, "p")
    before = policy_bundle_digest(load_profile(gate))
    gate.write_text(gate.read_text().replace("rego:\n", "rego:\n  bundled: false\n"))
    assert policy_bundle_digest(load_profile(gate)) != before


def test_attestation_conditions_read_the_bundle_in_force(tmp_path):
    from scanner.gates.signature import create
    from scanner.supplychain.keys import generate_private_key, public_key_pem

    gate = copy_profile(tmp_path, "p")
    (gate.parent / "cosign.pub").write_bytes(public_key_pem(generate_private_key().public_key()))
    condition = (
        "package cdgate.attestation\n"
        "deny contains msg if {\n"
        '  input.policyBundle.digest.sha256 != trim_prefix(data.cdgate.policy_bundle_digest, "sha256:")\n'
        '  msg := "built under another policy bundle"\n'
        "}\n"
    )
    gate.write_text(
        gate.read_text()
        + "gates:\n  manifest: {enabled: true}\n  signature:\n    trusted_keys: [cosign.pub]\n"
        + "    attestations:\n      - name: build-gate\n        type: gate-verdict\n        condition: |\n"
        + "".join(f"          {line}\n" for line in condition.splitlines())
    )
    profile = load_profile(gate)
    bundle = policy_bundle_digest(profile)
    (requirement,) = create(profile, gate.parent).settings.attestations
    assert requirement.condition.data["cdgate"]["policy_bundle_digest"] == bundle
    assert requirement.condition.deny({"policyBundle": {"digest": {"sha256": bundle.split(":")[1]}}}) == []
    assert requirement.condition.deny({"policyBundle": {"digest": {"sha256": "0" * 64}}}) == ["built under another policy bundle"]
