"""The CI gates, adapted for one object at a time.

`admission_gates` takes the gates `create_gates` made and changes three
things, none of them about policy: the signature gate keeps its
verifications in a cache shared by all requests (`sigcache`); Rego keeps
the interpreter CI uses (regorus' compiled VM answers "undefined" where the
interpreter raises a type error, which would let a hostile object pass, so
it is not used); and the manifest gate leaves out cross-resource Rego packages (`input_mode :=
"repo"`). Those judge a whole repository at once (every namespace has a
ResourceQuota, every Deployment a PodDisruptionBudget); one admitted object
alone can never satisfy them, so they stay CI's job. Every other policy,
waiver and rule id is the one CI uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from scanner.engines.rego import RegoPolicySet
from scanner.gates.base import Gate
from scanner.gates.manifest import ManifestGate
from scanner.gates.signature import SignatureGate
from scanner.webhook.sigcache import SignatureCache, caching_checker_factory


@dataclass(frozen=True)
class AdmissionGates:
    gates: list[Gate]
    cross_resource_packages: tuple[str, ...]  # left to CI


def admission_gates(gates: Sequence[Gate], cache: SignatureCache) -> AdmissionGates:
    adapted: list[Gate] = []
    dropped: list[str] = []
    for gate in gates:
        if isinstance(gate, SignatureGate):
            gate = SignatureGate(gate.settings, caching_checker_factory(cache))
        elif isinstance(gate, ManifestGate):
            engines = []
            for engine in gate.engines:
                if isinstance(engine, RegoPolicySet):
                    dropped.extend(p.name for p in engine.repo_packages)
                    # document packages only; the compiled set stays referenced by `gate` for the process
                    engine = RegoPolicySet(engine.sources, engine.document_packages, [], engine.base_data, engine.environment)
                engines.append(engine)
            gate = ManifestGate(engines)
        adapted.append(gate)
    return AdmissionGates(adapted, tuple(dropped))
