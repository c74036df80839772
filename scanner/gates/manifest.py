"""The manifest gate: Rego and Kyverno policies over the rendered documents.

Policies are compiled once per run (`ManifestPolicies.compile`) and then
evaluated over every document; the webhook keeps one compiled instance for
its lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from scanner.catalog import Catalog
from scanner.engines.base import Level, RawResult
from scanner.findings import Finding, GateResult
from scanner.gates.results import finding_from_raw
from scanner.inputs.document import Document
from scanner.profile import Profile

GATE = "manifest"
BUNDLED_KYVERNO_DIR = Path(__file__).resolve().parent.parent.parent / "policies" / "kyverno"


@dataclass
class ManifestPolicies:
    """Everything the manifest gate evaluates, compiled once."""

    rego: Any | None  # RegoPolicySet
    kyverno: Any | None  # KyvernoPolicySet
    audit_fails: bool = True

    @classmethod
    def compile(cls, profile: Profile, root: Path | None = None) -> ManifestPolicies:
        from scanner.engines.rego import BUNDLED_REGO_DIR, RegoPolicySet

        rego_paths: list[Path] = []
        if profile.rego.bundled:
            rego_paths.append(BUNDLED_REGO_DIR)
        rego_paths.extend(profile.rego.policies)
        rego = None
        if rego_paths:
            rego = RegoPolicySet.compile(
                rego_paths,
                data_paths=profile.rego.data,
                namespaces=profile.rego.namespaces,
                params=profile.rego.params,
                environment=profile.environment,
                root=root,
            )
        kyverno_paths: list[Path] = []
        if profile.kyverno.bundled:
            kyverno_paths.append(BUNDLED_KYVERNO_DIR)
        kyverno_paths.extend(profile.kyverno.policies)
        kyverno = None
        if kyverno_paths:
            from scanner.engines.kyverno import load_policies

            kyverno = load_policies(kyverno_paths)
        return cls(rego, kyverno, profile.kyverno.audit_fails)

    def evaluate(
        self, documents: Sequence[Document], on_progress: Callable[[int], None] | None = None
    ) -> list[RawResult]:
        raw: list[RawResult] = []
        if self.rego is not None:
            raw.extend(self.rego.evaluate(documents, on_progress))
        if self.kyverno is not None:
            for result in self.kyverno.evaluate(documents):
                if (
                    not self.audit_fails
                    and result.level is Level.DENY
                    and result.properties.get("action") == "Audit"
                ):
                    result.level = Level.WARN
                raw.append(result)
        return raw


def run_manifest_gate(
    documents: Sequence[Document],
    policies: ManifestPolicies,
    catalog: Catalog,
    on_progress: Callable[[int], None] | None = None,
) -> GateResult:
    raw = policies.evaluate(documents, on_progress)
    findings: list[Finding] = [finding_from_raw(r, catalog, GATE) for r in raw]
    return GateResult(GATE, findings, documents=sum(1 for d in documents if d.is_resource))
