"""The signature gate over real documents and a real registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Sequence

import pytest

from scanner.errors import ConfigError, PolicyError
from scanner.findings import Outcome, Severity
from scanner.catalog import load_catalog
from scanner.findings import GateResult
from scanner.gates.base import GateContext
from scanner.gates.pipeline import run_gates
from scanner.gates.signature import create
from scanner.inputs.document import Document
from scanner.profile import Profile
from scanner.profile_schema import SIGNATURE_GATE_SCHEMA
from scanner.supplychain.cosign import ImageTarget, attest_image, sign_image
from scanner.supplychain.intoto import resolve_predicate_type
from scanner.supplychain.keys import public_key_pem
from scanner.supplychain.workload_images import image_uses
from supplychain.documents import load_documents
from supplychain.images import push_image

NO_CRITICAL = """package cdgate.attestation

deny contains msg if {
    some result in input.scanner.result.Results
    some v in result.Vulnerabilities
    v.Severity == "CRITICAL"
    msg := sprintf("%s is CRITICAL in %s", [v.VulnerabilityID, v.PkgName])
}
"""


def run_signature_gate(
    documents: Sequence[Document], config: dict[str, Any], *, profile_dir: Path, environment: str | None
) -> GateResult:
    """The signature gate made and run as the pipeline does, findings through the catalogue."""
    profile = Profile(path=Path(profile_dir) / "gate.yaml", gates={"signature": config}).for_environment(environment)
    context = GateContext(documents, profile, load_catalog(), Path(profile_dir), dt.date.today())
    [result] = run_gates([create(profile, Path(profile_dir))], context)
    return result


def deployment(image: str, name: str = "web", init_image: str | None = None) -> str:
    init = f"""      initContainers:
        - name: migrate
          image: {init_image}
""" if init_image else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  template:
    spec:
{init}      containers:
        - name: app
          image: {image}
"""


@pytest.fixture
def profile(tmp_path, signing_key):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "release.pub").write_bytes(public_key_pem(signing_key))
    return tmp_path


def config_for(registry, **extra):
    return {"trusted_keys": ["keys/release.pub"], "registries": {registry.host: {"insecure": True}}, **extra}


def vuln_predicate(severities: list[str]) -> dict:
    return {
        "invocation": {"uri": "", "event_id": "", "builder.id": ""},
        "scanner": {
            "uri": "pkg:github/aquasecurity/trivy@0.76.0",
            "version": "0.76.0",
            "result": {"Results": [{"Target": "app", "Vulnerabilities": [
                {"VulnerabilityID": f"CVE-2026-{i}", "PkgName": "openssl", "Severity": s} for i, s in enumerate(severities)
            ]}]},
        },
        "metadata": {"scanStartedOn": "2026-11-22T00:00:00Z", "scanFinishedOn": "2026-11-22T00:00:01Z"},
    }


def test_schema_is_a_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SIGNATURE_GATE_SCHEMA)


def test_images_from_every_pod_spec_location():
    text = """apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: i, image: "a/init:1"}]
  containers: [{name: c, image: "a/c:1"}]
  ephemeralContainers: [{name: e, image: "a/debug:1"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: c, image: "a/cron:1"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  template:
    spec:
      containers: [{name: c, image: "a/sts:1"}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  template:
    spec:
      containers: [{name: c, image: "a/rollout:1"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {image: "not/an-image:1"}
"""
    uses = [u for d in load_documents(text) for u in image_uses(d)]
    assert [(u.image, u.json_path) for u in uses] == [
        ("a/init:1", "spec.initContainers[0].image"),
        ("a/c:1", "spec.containers[0].image"),
        ("a/debug:1", "spec.ephemeralContainers[0].image"),
        ("a/cron:1", "spec.jobTemplate.spec.template.spec.containers[0].image"),
        ("a/sts:1", "spec.template.spec.containers[0].image"),
        ("a/rollout:1", "spec.template.spec.containers[0].image"),
    ]
    assert uses[1].line == 6


def test_tag_only_image_fails_without_touching_the_network(profile):
    # registry 127.0.0.1:9 is closed: any network use would be an ERROR, not a FAIL
    text = deployment("127.0.0.1:9/shop/web:1.0")
    image_line = next(i for i, line in enumerate(text.splitlines(), 1) if "image: 127.0.0.1:9/shop/web" in line)
    documents = load_documents(text)
    result = run_signature_gate(documents, {"trusted_keys": ["keys/release.pub"]}, profile_dir=profile, environment="prod")
    assert [(f.rule_id, f.outcome) for f in result.findings] == [("CDG-SUP-001", Outcome.FAIL)]
    finding = result.findings[0]
    assert finding.location.json_path == "spec.template.spec.containers[0].image"
    assert finding.location.start_line == image_line == 11
    assert (finding.location.kind, finding.location.namespace, finding.location.name) == ("Deployment", "shop", "web")
    assert finding.gate == "signature" and finding.engine == "signature"
    assert finding.severity is Severity.HIGH and finding.title and finding.help_uri.startswith("https://")


@pytest.mark.registry
def test_signed_and_attested_image_passes(registry, registry_options, profile, signing_key):
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    reference = parse_reference(f"{registry.host}/gate/ok:v1")
    repo = open_repository(reference, registry_options)
    digest = push_image(repo, "v1", {"app": b"ok"})
    target = ImageTarget(reference.with_digest(digest), repo, digest)
    sign_image(target, signing_key)
    attest_image(target, signing_key, resolve_predicate_type("cyclonedx"), {"bomFormat": "CycloneDX", "components": []})
    attest_image(target, signing_key, resolve_predicate_type("vuln"), vuln_predicate(["HIGH", "LOW"]), new_bundle_format=False)
    config = config_for(registry, attestations=[{"type": "cyclonedx", "name": "sbom"}, {"type": "vuln", "name": "no-critical", "condition": NO_CRITICAL}])
    documents = load_documents(deployment(f"{registry.host}/gate/ok@{digest}") + "---\n" + deployment(f"{registry.host}/gate/ok:v1@{digest}", name="web2"))
    result = run_signature_gate(documents, config, profile_dir=profile, environment="prod")
    assert result.findings == []
    assert result.documents == 2


@pytest.mark.registry
def test_unsigned_missing_attestation_and_failed_condition(registry, registry_options, profile, signing_key, other_key):
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    reference = parse_reference(f"{registry.host}/gate/bad:v1")
    repo = open_repository(reference, registry_options)
    digest = push_image(repo, "v1", {"app": b"bad"})
    target = ImageTarget(reference.with_digest(digest), repo, digest)
    sign_image(target, other_key)  # signed, but not by a trusted key
    attest_image(target, signing_key, resolve_predicate_type("vuln"), vuln_predicate(["CRITICAL", "LOW"]))
    config = config_for(registry, attestations=[{"type": "cyclonedx", "name": "sbom"}, {"type": "vuln", "name": "no-critical", "condition": NO_CRITICAL}])
    documents = load_documents(deployment(f"{registry.host}/gate/bad@{digest}"))
    result = run_signature_gate(documents, config, profile_dir=profile, environment=None)
    by_rule = {f.rule_id: f for f in result.findings}
    assert sorted(by_rule) == ["CDG-SUP-003", "CDG-SUP-004", "CDG-SUP-005"]
    assert "does not verify" in by_rule["CDG-SUP-003"].message
    assert "sbom" in by_rule["CDG-SUP-004"].message
    assert "CVE-2026-0 is CRITICAL in openssl" in by_rule["CDG-SUP-005"].message
    assert all(f.outcome is Outcome.FAIL for f in result.findings)
    assert by_rule["CDG-SUP-003"].severity is Severity.CRITICAL


@pytest.mark.registry
def test_tag_resolution_when_allowed_asks_to_pin(registry, registry_options, profile, signing_key):
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    reference = parse_reference(f"{registry.host}/gate/tagged:v1")
    repo = open_repository(reference, registry_options)
    digest = push_image(repo, "v1", {"app": b"tagged"})
    sign_image(ImageTarget(reference.with_digest(digest), repo, digest), signing_key)
    documents = load_documents(deployment(f"{registry.host}/gate/tagged:v1"))
    result = run_signature_gate(documents, config_for(registry, allow_tag_resolution=True), profile_dir=profile, environment=None)
    assert [(f.rule_id, f.outcome) for f in result.findings] == [("CDG-SUP-002", Outcome.WARN)]
    assert digest in result.findings[0].message
    # the tag moves to unsigned content: the gate now fails
    push_image(repo, "v1", {"app": b"moved"})
    result = run_signature_gate(documents, config_for(registry, allow_tag_resolution=True), profile_dir=profile, environment=None)
    assert sorted(f.rule_id for f in result.findings) == ["CDG-SUP-002", "CDG-SUP-003"]


def test_registry_down_fails_closed_naming_the_registry(profile):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    digest = "sha256:" + "2" * 64
    documents = load_documents(deployment(f"{host}/shop/web@{digest}", init_image=f"{host}/shop/migrate@{digest}"))
    config = {"trusted_keys": ["keys/release.pub"], "registries": {host: {"insecure": True}}, "timeout_s": 2}
    result = run_signature_gate(documents, config, profile_dir=profile, environment=None)
    assert [f.rule_id for f in result.findings] == ["CDG-SUP-006", "CDG-SUP-006"]
    assert all(f.outcome is Outcome.ERROR for f in result.findings)
    assert all(host in f.message and "ConnectError" in f.message for f in result.findings)
    assert result.findings[0].location.json_path == "spec.template.spec.initContainers[0].image"


@pytest.mark.registry
def test_registry_serving_wrong_content_fails_closed(registry, registry_options, profile, signing_key):
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    reference = parse_reference(f"{registry.host}/gate/corrupt:v1")
    repo = open_repository(reference, registry_options)
    digest = push_image(repo, "v1", {"app": b"c"})
    sign_image(ImageTarget(reference.with_digest(digest), repo, digest), signing_key)
    path = registry.blob_data_path(digest)
    original = path.read_bytes()
    path.write_bytes(original + b" ")
    try:
        result = run_signature_gate(load_documents(deployment(f"{registry.host}/gate/corrupt@{digest}")), config_for(registry), profile_dir=profile, environment=None)
    finally:
        path.write_bytes(original)
    assert [(f.rule_id, f.outcome) for f in result.findings] == [("CDG-SUP-006", Outcome.ERROR)]
    assert "does not match" in result.findings[0].message


@pytest.mark.registry
def test_results_are_cached_by_digest_within_a_run(registry, profile, signing_key):
    """Fifty uses of one image cost one verification: count the registry requests."""
    import httpx

    from scanner.supplychain.oci import RegistryOptions, open_repository
    from scanner.supplychain.reference import parse_reference

    reference = parse_reference(f"{registry.host}/gate/cached:v1")
    repo = open_repository(reference, RegistryOptions(insecure=frozenset({registry.host})))
    digest = push_image(repo, "v1", {"app": b"cached"})
    sign_image(ImageTarget(reference.with_digest(digest), repo, digest), signing_key)
    text = "---\n".join(deployment(f"{registry.host}/gate/cached@{digest}", name=f"w{i}") for i in range(50))
    requests = []
    original = httpx.Client.send

    def counting(self, request, *args, **kwargs):
        requests.append((request.method, str(request.url)))
        return original(self, request, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.Client, "send", counting)
        result = run_signature_gate(load_documents(text), config_for(registry), profile_dir=profile, environment=None)
    assert result.findings == []
    assert 0 < len(requests) < 10


def test_offline_checks_pinning_only(profile):
    digest = "sha256:" + "3" * 64
    documents = load_documents(deployment(f"127.0.0.1:9/a@{digest}") + "---\n" + deployment("127.0.0.1:9/b:1", name="b"))
    result = run_signature_gate(documents, {"offline": True, "trusted_keys": ["keys/release.pub"]}, profile_dir=profile, environment=None)
    assert [(f.rule_id, f.outcome) for f in result.findings] == [("CDG-SUP-007", Outcome.WARN), ("CDG-SUP-001", Outcome.FAIL)]


def test_invalid_and_exempt_images(profile):
    text = deployment("{{ .Values.image }}") + "---\n" + deployment("registry.k8s.io/pause:3.9", name="p")
    result = run_signature_gate(load_documents(text), {"trusted_keys": ["keys/release.pub"], "exempt_images": ["registry.k8s.io/pause*"]}, profile_dir=profile, environment=None)
    assert [f.rule_id for f in result.findings] == ["CDG-SUP-008"]


def test_disabled_and_environment_scoping(profile):
    documents = load_documents(deployment("a/b:1"))
    assert run_signature_gate(documents, {"enabled": False}, profile_dir=profile, environment=None).skipped
    scoped = {"trusted_keys": ["keys/release.pub"], "environments": ["prod"]}
    assert run_signature_gate(documents, scoped, profile_dir=profile, environment="dev").skipped
    assert run_signature_gate(documents, scoped, profile_dir=profile, environment="prod").findings


@pytest.mark.parametrize(
    "config, error, match",
    [
        ({"trusted_keys": ["keys/missing.pub"]}, Exception, "cannot read public key"),
        ({}, ConfigError, "lists no trusted_keys"),
        ({"trusted_keys": ["keys/release.pub"], "unknown": 1}, ConfigError, "Additional properties"),
        ({"trusted_keys": ["keys/release.pub"], "attestations": [{"type": "nonsense"}]}, Exception, "unknown predicate type"),
        ({"trusted_keys": ["keys/release.pub"], "attestations": [{"type": "vuln", "condition": "package x\ndeny := 1"}]}, PolicyError, "package cdgate.attestation"),
        ({"trusted_keys": ["keys/release.pub"], "attestations": [{"type": "vuln", "condition": "package cdgate.attestation\ndeny contains x if {"}]}, PolicyError, "does not compile"),
    ],
)
def test_bad_configuration_is_an_error_not_a_pass(profile, config, error, match):
    with pytest.raises(error, match=match):
        run_signature_gate(load_documents(deployment("a/b:1")), config, profile_dir=profile, environment=None)


@pytest.mark.registry
def test_gate_verdict_attestation_with_condition(registry, registry_options, profile, signing_key):
    """The build gate attests its verdict; the merge gate demands a passing one."""
    from scanner.supplychain.intoto import GATE_VERDICT_PREDICATE, gate_verdict_predicate
    from scanner.supplychain.oci import open_repository
    from scanner.supplychain.reference import parse_reference

    reference = parse_reference(f"{registry.host}/gate/verdict:v1")
    repo = open_repository(reference, registry_options)
    passed = push_image(repo, "v1", {"app": b"passed"})
    failed = push_image(repo, "v2", {"app": b"failed"})
    digest_of = {"policyBundle": "sha256:" + "a" * 64, "profile": "sha256:" + "b" * 64}
    for digest, verdict, counts in ((passed, "passed", {}), (failed, "failed", {"critical": 2, "low": 1})):
        target = ImageTarget(reference.with_digest(digest), repo, digest)
        sign_image(target, signing_key)
        predicate = gate_verdict_predicate(verdict=verdict, counts=counts, policy_bundle_digest=digest_of["policyBundle"], profile_digest=digest_of["profile"], profile_name="prod")
        attest_image(target, signing_key, GATE_VERDICT_PREDICATE, predicate)
    condition = 'package cdgate.attestation\n\ndeny contains sprintf("build gate verdict was %s (%d critical)", [input.verdict, input.counts.critical]) if input.verdict != "passed"\n'
    config = config_for(registry, attestations=[{"type": "gate-verdict", "condition": condition}])
    text = deployment(f"{registry.host}/gate/verdict@{passed}") + "---\n" + deployment(f"{registry.host}/gate/verdict@{failed}", name="w2")
    result = run_signature_gate(load_documents(text), config, profile_dir=profile, environment="prod")
    assert [(f.rule_id, f.location.name) for f in result.findings] == [("CDG-SUP-005", "w2")]
    assert "build gate verdict was failed (2 critical)" in result.findings[0].message


def test_gate_verdict_predicate_shape():
    from scanner.supplychain.intoto import gate_verdict_predicate

    predicate = gate_verdict_predicate(verdict="passed", counts={"high": 1}, policy_bundle_digest="sha256:" + "1" * 64, profile_digest="sha256:" + "2" * 64)
    assert predicate["counts"] == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}
    assert predicate["policyBundle"]["digest"]["sha256"] == "1" * 64
    assert predicate["profile"]["digest"]["sha256"] == "2" * 64
    with pytest.raises(ValueError):
        gate_verdict_predicate(verdict="maybe", counts={}, policy_bundle_digest="sha256:" + "1" * 64, profile_digest="sha256:" + "2" * 64)
    with pytest.raises(ValueError):
        gate_verdict_predicate(verdict="passed", counts={}, policy_bundle_digest="md5:x", profile_digest="sha256:" + "2" * 64)
