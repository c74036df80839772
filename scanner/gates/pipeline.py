"""Run the gates over the targets and fold their findings into a verdict.

Order: compile policies (a broken policy stops the run before anything is
read), load and render inputs once, run the enabled gates (in parallel: the
signature gate waits on registries while the manifest gate computes), apply
the profile (overrides, waivers), and build the `Verdict`.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from scanner.catalog import Catalog, load_catalog
from scanner.findings import Finding, GateResult, Verdict
from scanner.gates.results import finding_from_problem
from scanner.gates.waivers import apply_profile
from scanner.profile import Profile

INPUT_GATE = "inputs"


@dataclass
class CheckRequest:
    """What `cdgate check` was asked to do."""

    targets: Sequence[str]
    profile: Profile
    environment: str | None = None
    root: Path = field(default_factory=Path.cwd)
    set_values: Sequence[str] = ()
    values_files: Sequence[Path] = ()
    mode: str = "auto"
    today: dt.date = field(default_factory=dt.date.today)
    catalog: Catalog | None = None
    on_stage: Callable[[str], None] | None = None  # stage names, for the terminal
    progress: Callable[[int, str], Any] | None = None  # (total, label) -> context yielding advance(n)


def run_check(request: CheckRequest) -> Verdict:
    started = time.perf_counter()
    stage = request.on_stage or (lambda _name: None)
    profile = request.profile.for_environment(request.environment)
    catalog = request.catalog or load_catalog()

    stage("compiling policies")
    policies = None
    if profile.gate_enabled("manifest"):
        from scanner.gates.manifest import ManifestPolicies

        policies = ManifestPolicies.compile(profile, root=request.root)

    stage("loading inputs")
    from scanner.inputs.loader import LoadOptions, load_targets

    loaded = load_targets(
        list(request.targets),
        LoadOptions(
            root=request.root,
            environment=request.environment,
            set_values=tuple(profile.inputs.set_values) + tuple(request.set_values),
            values_files=tuple(profile.inputs.values) + tuple(request.values_files),
            mode=request.mode,
            max_file_bytes=profile.inputs.max_file_bytes,
        ),
    )
    documents = loaded.documents
    input_gate = GateResult(
        INPUT_GATE,
        [finding_from_problem(p, catalog, INPUT_GATE) for p in loaded.problems],
        documents=len(documents),
    )

    stage(f"evaluating {len(documents)} documents")
    gates: list[GateResult] = [input_gate]
    # The signature gate waits on registries, so it runs in a worker thread
    # while the manifest gate computes here: regorus engines are bound to the
    # thread that compiled them.
    with ThreadPoolExecutor(max_workers=1) as pool:
        signature = None
        if profile.gate_enabled("signature"):
            from scanner.gates.signature import run_signature_gate

            signature = pool.submit(
                run_signature_gate,
                documents,
                profile.gates["signature"],
                profile_dir=profile.base_dir,
                environment=request.environment,
            )
        if policies is not None:
            from scanner.gates.manifest import run_manifest_gate

            if request.progress is not None:
                with request.progress(sum(1 for d in documents if d.is_resource), "Evaluating policies") as advance:
                    gates.append(run_manifest_gate(documents, policies, catalog, advance))
            else:
                gates.append(run_manifest_gate(documents, policies, catalog))
        if signature is not None:
            gates.append(signature.result())

    stage("applying profile")
    outcome = apply_profile(
        [f for g in gates for f in g.findings], profile, catalog, request.today, request.root
    )
    by_gate: dict[str, list[Finding]] = {g.name: [] for g in gates}
    for finding in outcome.findings:
        by_gate.setdefault(finding.gate, []).append(finding)
    for gate in gates:
        gate.findings = sorted(by_gate.get(gate.name, []), key=_order)
    if outcome.waiver_findings:
        gates.append(GateResult("profile", outcome.waiver_findings))

    return Verdict(
        gates=gates,
        fail_on=profile.fail_on,
        profile_name=profile.name,
        environment=request.environment,
        targets=tuple(str(t) for t in request.targets),
        notices=outcome.notices,
        duration_s=time.perf_counter() - started,
        documents=len(documents),
    )


def _order(finding: Finding) -> tuple:
    loc = finding.location
    return (-finding.severity.rank, loc.path, loc.start_line or 0, finding.rule_id)
