"""The signature gate: every image pinned, signed by a trusted key, and attested.

For every image a document would run (containers, initContainers,
ephemeralContainers of every pod-spec location), the gate checks:

1. it is pinned by digest (CDG-SUP-001), or, when the profile allows tag
   resolution, resolves the tag and asks to pin it (CDG-SUP-002);
2. a cosign signature of that digest verifies with a key from
   `trusted_keys` (CDG-SUP-003);
3. each attestation the profile lists exists, verifies, and, when it has a
   Rego `condition`, every verified one satisfies it (CDG-SUP-004/005).

Registry failures are findings with outcome ERROR naming the registry and
the error (CDG-SUP-006): the gate fails closed. Verification results are
cached by (repository, digest) within one run, so an image used by fifty
Deployments is fetched once. Nothing is contacted when the gate is disabled
or `offline` (then only pinning is checked, CDG-SUP-007 says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from scanner.errors import CdgateError, ConfigError, EngineError, PolicyError
from scanner.engines.base import Level, RawResult
from scanner.gates.base import GateContext, GateRun
from scanner.inputs.document import Document
from scanner.profile import Profile
from scanner.supplychain.oci import Repository
from scanner.supplychain.reference import Reference
from scanner.supplychain.workload_images import ImageUse
from scanner.profile_schema import SIGNATURE_GATE_SCHEMA

GATE = "signature"
ENGINE = "signature"

RULE_NOT_PINNED = "CDG-SUP-001"
RULE_TAG_RESOLVED = "CDG-SUP-002"
RULE_UNSIGNED = "CDG-SUP-003"
RULE_MISSING_ATTESTATION = "CDG-SUP-004"
RULE_CONDITION_FAILED = "CDG-SUP-005"
RULE_REGISTRY_ERROR = "CDG-SUP-006"
RULE_OFFLINE = "CDG-SUP-007"
RULE_INVALID_REFERENCE = "CDG-SUP-008"

@dataclass(frozen=True)
class AttestationRequirement:
    name: str
    predicate_type: str
    condition: Any  # scanner.supplychain.conditions.Condition | None


@dataclass
class SignatureSettings:
    """The `gates.signature` mapping, validated and with paths resolved."""

    enabled: bool = True
    trusted_keys: list[Any] = field(default_factory=list)  # TrustedKey
    require_digest: bool = True
    allow_tag_resolution: bool = False
    require_signature: bool = True
    attestations: list[AttestationRequirement] = field(default_factory=list)
    insecure_registries: frozenset[str] = frozenset()
    exempt_images: tuple[str, ...] = ()
    environments: tuple[str, ...] | None = None
    tlog: Any = None  # TlogPolicy
    offline: bool = False
    timeout_s: float = 30.0
    docker_config: Path | None = None


def load_settings(
    config: dict[str, Any] | None, profile_dir: Path, condition_data: dict[str, Any] | None = None
) -> SignatureSettings:
    """Validate `config` against SIGNATURE_GATE_SCHEMA and load keys, root and conditions (given `condition_data`)."""
    import jsonschema

    from scanner.supplychain.conditions import Condition
    from scanner.supplychain.cosign import TrustedKey
    from scanner.supplychain.intoto import resolve_predicate_type
    from scanner.supplychain.keys import load_public_key_file
    from scanner.supplychain.rekor import TlogPolicy, load_trusted_root

    config = dict(config or {})
    errors = sorted(jsonschema.Draft202012Validator(SIGNATURE_GATE_SCHEMA).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(top level)"
        raise ConfigError(f"gates.signature: invalid at {where}: {errors[0].message}")
    settings = SignatureSettings(
        enabled=config.get("enabled", True),
        require_digest=config.get("require_digest", True),
        allow_tag_resolution=config.get("allow_tag_resolution", False),
        require_signature=config.get("require_signature", True),
        insecure_registries=frozenset(h for h, s in (config.get("registries") or {}).items() if s.get("insecure")),
        exempt_images=tuple(config.get("exempt_images") or ()),
        environments=tuple(config["environments"]) if "environments" in config else None,
        offline=config.get("offline", False),
        timeout_s=float(config.get("timeout_s", 30)),
        docker_config=(profile_dir / config["docker_config"]) if config.get("docker_config") else None,
    )
    if not settings.enabled:
        return settings
    for key_path in config.get("trusted_keys") or []:
        path = profile_dir / key_path
        settings.trusted_keys.append(TrustedKey(str(key_path), load_public_key_file(path)))
    needs_keys = settings.require_signature or bool(config.get("attestations"))
    if needs_keys and not settings.trusted_keys and not settings.offline:
        raise ConfigError(
            "gates.signature requires signatures or attestations but lists no trusted_keys",
            hint="add cosign.pub paths under gates.signature.trusted_keys, or set enabled: false",
        )
    for index, item in enumerate(config.get("attestations") or []):
        origin = f"gates.signature.attestations[{index}]"
        predicate_type = resolve_predicate_type(item["type"])
        condition = Condition(item["condition"], origin, condition_data) if item.get("condition") else None
        settings.attestations.append(AttestationRequirement(item.get("name") or item["type"], predicate_type, condition))
    root = load_trusted_root(profile_dir / config["trusted_root"]) if config.get("trusted_root") else None
    settings.tlog = TlogPolicy(trusted_root=root, require=config.get("require_tlog", False))
    return settings


# --- verification with a per-run cache ---------------------------------------------


@dataclass
class ImageVerdict:
    """What the gate learned about one (repository, digest); shared by every use of it."""

    digest: str
    signature_problem: str | None = None
    missing: list[str] = field(default_factory=list)  # attestation names
    condition_failures: list[str] = field(default_factory=list)
    error: str | None = None
    signed_by: list[str] = field(default_factory=list)


class SignatureChecker:
    """Resolves and verifies images, caching by repository and digest for one run."""

    def __init__(self, settings: SignatureSettings):
        self.settings = settings
        self._repositories: dict[str, Repository] = {}
        self._verdicts: dict[tuple[str, str], ImageVerdict] = {}
        self._tags: dict[tuple[str, str], str | CdgateError] = {}

    def repository(self, reference: Reference) -> Repository:
        from scanner.supplychain.oci import RegistryOptions, open_repository

        key = reference.repository_name
        if key not in self._repositories:
            options = RegistryOptions(
                insecure=self.settings.insecure_registries,
                docker_config=self.settings.docker_config,
                timeout=self.settings.timeout_s,
            )
            self._repositories[key] = open_repository(reference, options)
        return self._repositories[key]

    def close(self) -> None:
        for repository in self._repositories.values():
            close = getattr(repository, "close", None)
            if close is not None:
                close()

    def resolve_tag(self, reference: Reference) -> str:
        """The digest a tag points at now (cached; errors are cached too)."""
        key = (reference.repository_name, reference.tag or "latest")
        if key not in self._tags:
            try:
                self._tags[key] = self.repository(reference).get_manifest(reference.tag or "latest").digest
            except CdgateError as exc:
                self._tags[key] = exc
        result = self._tags[key]
        if isinstance(result, CdgateError):
            raise result
        return result

    def verify(self, reference: Reference, digest: str) -> ImageVerdict:
        key = (reference.repository_name, digest)
        if key not in self._verdicts:
            self._verdicts[key] = self._verify(reference, digest)
        return self._verdicts[key]

    def _verify(self, reference: Reference, digest: str) -> ImageVerdict:
        from scanner.supplychain.cosign import ImageTarget, verify_image_attestations, verify_image_signatures
        from scanner.supplychain.errors import VerificationFailed

        verdict = ImageVerdict(digest)
        settings = self.settings
        try:
            repository = self.repository(reference)
            repository.get_manifest(digest)  # the image itself must exist and match its digest
            target = ImageTarget(reference.with_digest(digest), repository, digest)
            if settings.require_signature:
                report = verify_image_signatures(target, settings.trusted_keys, settings.tlog)
                try:
                    verdict.signed_by = sorted({v.key_name for v in report.require("signature")})
                except VerificationFailed as exc:
                    verdict.signature_problem = str(exc)
            for requirement in settings.attestations:
                report = verify_image_attestations(target, settings.trusted_keys, settings.tlog, requirement.predicate_type)
                if not report.verified:
                    detail = "; ".join(report.rejected) if report.rejected else "none attached"
                    verdict.missing.append(f"{requirement.name} ({requirement.predicate_type}): {detail}")
                    continue
                if requirement.condition is not None:
                    for item in report.verified:
                        if item.statement is None:
                            continue
                        for message in requirement.condition.deny(item.statement.predicate):
                            verdict.condition_failures.append(f"{requirement.name}: {message}")
        except (PolicyError, EngineError):
            raise  # a broken condition is a profile error, not a registry error
        except CdgateError as exc:
            verdict.error = str(exc)
        return verdict


# --- findings ---------------------------------------------------------------------------


class _ResultFactory:
    """Raw results about one image use: the pipeline's finding factory adds the catalogue."""

    def __init__(self, environment: str | None):
        self.environment = environment

    def make(self, rule_id: str, message: str, use: ImageUse, *, level: Level = Level.DENY, properties: dict[str, Any] | None = None) -> RawResult:
        return RawResult(
            engine=ENGINE,
            policy=GATE,
            message=message,
            level=level,
            rule_id=rule_id,
            document=use.document,
            json_path=use.json_path,
            scope=self.environment,
            properties={"image": use.image, "container": use.container, **(properties or {})},
        )


class SignatureGate:
    """The gate seam over the settings in `gates.signature` (loaded, keys read, when made)."""

    name = GATE
    concurrent = True  # waits on registries: runs beside the gates that compute

    def __init__(self, settings: SignatureSettings, checker_factory: Callable[[SignatureSettings], SignatureChecker] | None = None):
        self.settings = settings
        # The webhook passes a checker whose verifications outlive one run (scanner.webhook.sigcache).
        self.checker_factory = checker_factory or SignatureChecker

    def run(self, context: GateContext) -> GateRun:
        """Check every image the documents would run.

        Registry trouble becomes ERROR results, one per image use; the gate
        fails closed.
        """
        settings = self.settings
        documents = context.documents
        result = GateRun(checked=len(documents))
        if not settings.enabled:
            result.skipped = "disabled in gate.yaml (gates.signature.enabled: false)"
            return result
        environment = context.environment
        if settings.environments is not None and environment not in settings.environments:
            result.skipped = f"not required for environment {environment!r} (gates.signature.environments)"
            return result
        factory = _ResultFactory(environment)
        checker = self.checker_factory(settings)
        try:
            _check_documents(documents, settings, factory, checker, result)
        finally:
            checker.close()
        return result


def create(profile: Profile, root: Path) -> SignatureGate:
    """The gate factory. Raises ConfigError/PolicyError for a broken `gates.signature` section (exit 2)."""
    config = profile.gates.get(GATE)
    return SignatureGate(load_settings(config, profile.base_dir, _condition_data(profile, config)))


def _condition_data(profile: Profile, config: dict[str, Any] | None) -> dict[str, Any] | None:
    """What attestation conditions may read: the policy bundle and profile digests in force."""
    if not any(item.get("condition") for item in (config or {}).get("attestations") or []):
        return None
    from scanner.policy_bundle import policy_bundle_digest, profile_digest

    # the same two digests the build gate records, computed by the same functions
    return {"cdgate": {"policy_bundle_digest": policy_bundle_digest(profile), "profile_digest": profile_digest(profile)}}


def _check_documents(documents: Sequence[Document], settings: SignatureSettings, factory: _ResultFactory, checker: SignatureChecker, result: GateRun) -> None:
    from fnmatch import fnmatchcase

    from scanner.supplychain.workload_images import image_uses

    offline_noted = False
    for document in documents:
        for use in image_uses(document):
            if any(fnmatchcase(use.image, pattern) for pattern in settings.exempt_images):
                continue
            reference, digest, findings = _pinned_digest(use, settings, factory, checker)
            result.raw.extend(findings)
            if reference is None or digest is None:
                continue
            if settings.offline:
                if not offline_noted:
                    message = "signatures and attestations were not verified: gates.signature.offline is set"
                    result.raw.append(factory.make(RULE_OFFLINE, message, use, level=Level.WARN))
                    offline_noted = True
                continue
            result.raw.extend(_verdict_findings(factory, use, reference, checker.verify(reference, digest)))


def _pinned_digest(
    use: ImageUse, settings: SignatureSettings, factory: _ResultFactory, checker: SignatureChecker
) -> tuple[Reference | None, str | None, list[RawResult]]:
    """(reference, digest or None, findings) for one image field: parse, check pinning, resolve a tag."""
    from scanner.supplychain.reference import ReferenceError_, parse_reference

    try:
        reference = parse_reference(use.image)
    except ReferenceError_ as exc:
        return None, None, [factory.make(RULE_INVALID_REFERENCE, f"image {use.image!r} is not valid: {exc}", use)]
    if reference.is_layout:
        return None, None, [factory.make(RULE_INVALID_REFERENCE, f"image {use.image!r} names a local OCI layout, not a registry", use)]
    if reference.digest is not None:
        return reference, reference.digest, []
    if settings.require_digest and not settings.allow_tag_resolution:
        return reference, None, [factory.make(RULE_NOT_PINNED, f"image {use.image} is referenced by tag {reference.tag!r}, not by digest", use)]
    if settings.offline:
        message = f"image {use.image} is referenced by tag and the gate is offline: it cannot be resolved or verified"
        return reference, None, [factory.make(RULE_NOT_PINNED, message, use)]
    try:
        digest = checker.resolve_tag(reference)
    except CdgateError as exc:
        return reference, None, [_registry_error(factory, use, reference, exc)]
    message = f"image {use.image} resolved to {digest} today; pin it as {reference.repository_name}:{reference.tag}@{digest}"
    return reference, digest, [factory.make(RULE_TAG_RESOLVED, message, use, level=Level.WARN, properties={"digest": digest})]


def _registry_error(factory: _ResultFactory, use: ImageUse, reference: Reference, error: Exception) -> RawResult:
    text = str(error)
    if reference.registry not in text:
        text = f"registry {reference.registry}: {text}"
    return factory.make(
        RULE_REGISTRY_ERROR,
        f"cannot verify image {use.image}: {text}",
        use,
        level=Level.ERROR,
        properties={"registry": reference.registry},
    )


def _verdict_findings(factory: _ResultFactory, use: ImageUse, reference: Reference, verdict: ImageVerdict) -> list[RawResult]:
    if verdict.error is not None:
        return [_registry_error(factory, use, reference, Exception(verdict.error))]
    found = []
    pinned = f"{reference.repository_name}@{verdict.digest}"
    props = {"digest": verdict.digest}
    if verdict.signature_problem is not None:
        found.append(factory.make(RULE_UNSIGNED, f"image {pinned} has no trusted signature: {verdict.signature_problem}", use, properties=props))
    for missing in verdict.missing:
        found.append(factory.make(RULE_MISSING_ATTESTATION, f"image {pinned} lacks a verified attestation {missing}", use, properties=props))
    for failure in verdict.condition_failures:
        found.append(factory.make(RULE_CONDITION_FAILED, f"image {pinned} attestation {failure}", use, properties=props))
    return found
