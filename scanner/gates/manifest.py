"""The manifest gate: every configured policy engine over the rendered documents.

The engines (Rego, Kyverno, and whatever else `scanner.engines.registry`
lists) are compiled once when the gate is made; `run` evaluates them over the
run's documents. The webhook keeps one gate for its lifetime and runs it from
its worker threads: engines are safe to share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from scanner.engines.base import EvaluationRequest, PolicyEngine, RawResult
from scanner.engines.per_thread import reraise_interrupts
from scanner.engines.registry import compile_engines
from scanner.errors import PolicyError
from scanner.gates.base import GateContext, GateRun, resource_documents
from scanner.gates.results import engine_failure
from scanner.gates.generated_secrets import reclassify_generated_secrets
from scanner.profile import Profile

GATE = "manifest"


@dataclass
class ManifestGate:
    """Compiled policy engines, evaluated over documents."""

    engines: Sequence[PolicyEngine]
    name: str = GATE
    concurrent: bool = False

    def evaluate(self, request: EvaluationRequest) -> list[RawResult]:
        """Every engine's raw results for one request, in registry order."""
        raw: list[RawResult] = []
        for engine in self.engines:
            try:
                raw.extend(engine.evaluate(request))
            except BaseException as exc:  # an engine bug or a pyo3 panic (a BaseException) fails closed
                reraise_interrupts(exc)
                raw.append(engine_failure(engine.name, exc))
        return raw

    def run(self, context: GateContext) -> GateRun:
        resources = resource_documents(context.documents)
        if context.progress is None or not resources:
            raw = self.evaluate(EvaluationRequest(resources, context.environment, context.admission))
        else:
            with context.progress(len(resources) * len(self.engines), "Evaluating policies") as advance:
                raw = self.evaluate(EvaluationRequest(resources, context.environment, context.admission, advance))
        return GateRun(raw=reclassify_generated_secrets(raw), checked=len(resources))


def create(profile: Profile, root: Path) -> ManifestGate:
    """The gate factory: compile every engine the profile configures; none at all is exit 2."""
    engines = compile_engines(profile, root)
    if not engines:
        raise PolicyError(
            "the manifest gate has no policy to evaluate: rego.bundled is false and no rego, kyverno, "
            "gatekeeper or cel policies are listed",
            path=str(profile.path) if profile.path else None,
            hint="list policies in gate.yaml, set rego.bundled: true, or disable gates.manifest",
        )
    return ManifestGate(engines)
