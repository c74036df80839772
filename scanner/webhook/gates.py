"""The CI gates, adapted for one object at a time.

`admission_gates` takes the gates `create_gates` made and changes three
things, none of them about policy: the signature gate keeps its
verifications in a cache shared by all requests (`sigcache`); Rego runs on
regorus's compiled VM where it can (`rego_vm`, same answers); and the
manifest gate leaves out cross-resource Rego packages (`input_mode :=
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
from scanner.webhook.rego_vm import VmRegoPolicySet
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
                    engine = VmRegoPolicySet(engine)  # document packages only
                engines.append(engine)
            gate = ManifestGate(engines)
        adapted.append(gate)
    return AdmissionGates(adapted, tuple(dropped))
