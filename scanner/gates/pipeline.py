"""Run the gates over the targets and fold their findings into a verdict.

Order: make the enabled gates (compiling their policies: a broken policy stops
the run before anything is read), load and render inputs once, run the gates
(those that wait on the network in worker threads, beside those that
compute), turn raw results into findings through the one finding factory,
apply the profile (overrides, waivers), and build the `Verdict`. Nothing here
knows a gate by name: gates come from `scanner.gates.registry`.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from scanner.catalog import Catalog, load_catalog
from scanner.engines.per_thread import reraise_interrupts
from scanner.errors import CdgateError
from scanner.findings import Finding, GateResult, Verdict, finding_sort_key
from scanner.gates.base import Gate, GateContext, GateRun, ProgressFactory
from scanner.gates.registry import create_gates
from scanner.gates.results import engine_failure, finding_from_raw, raw_from_problem
from scanner.gates.waivers import WAIVER_GATE, apply_profile, check_governance
from scanner.inputs.skipping import PathSkipper
from scanner.profile import Profile

#: The pseudo-gate that holds input problems (files that could not be read or rendered).
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
    progress: ProgressFactory | None = None
    skip: PathSkipper = PathSkipper()  # --skip-dirs / --skip-files


def run_check(request: CheckRequest) -> Verdict:
    started = time.perf_counter()
    stage = request.on_stage or (lambda _name: None)
    profile = request.profile.for_environment(request.environment)
    catalog = request.catalog or load_catalog()
    check_governance(request.profile, catalog, request.today)

    stage("compiling policies")
    gates = create_gates(profile, request.root)

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
            skip=request.skip,
            allow_empty=profile.inputs.allow_empty,
            include_test_hooks=profile.inputs.include_test_hooks,
            default_namespace=profile.inputs.default_namespace,
        ),
    )
    input_gate = GateResult(
        INPUT_GATE,
        [finding_from_raw(raw_from_problem(p), catalog, INPUT_GATE) for p in loaded.problems],
        documents=len(loaded.documents),
    )

    stage(f"evaluating {len(loaded.documents)} documents")
    context = GateContext(
        documents=loaded.documents,
        profile=profile,
        catalog=catalog,
        root=request.root,
        today=request.today,
        targets=tuple(str(t) for t in request.targets),
        progress=request.progress,
    )
    results = [input_gate, *run_gates(gates, context)]

    stage("applying profile")
    verdict = fold_verdict(results, context, started=started, documents=len(loaded.documents))
    verdict.notices[:0] = loaded.notices
    verdict.notices.extend(f"not read for safety: {path}: {reason}" for path, reason in loaded.withheld)
    return verdict


def run_gates(gates: Sequence[Gate], context: GateContext) -> list[GateResult]:
    """Run every gate over one context; results in the gates' order.

    Gates that declare `concurrent` (they wait on registries or scanners) run
    in worker threads while the others compute on this thread.
    """
    runs: dict[int, GateRun | Future[GateRun]] = {}
    background = [i for i, g in enumerate(gates) if g.concurrent]
    with ThreadPoolExecutor(max_workers=max(1, len(background))) as pool:
        for i in background:
            runs[i] = pool.submit(_run_closed, gates[i], context)
        for i, gate in enumerate(gates):
            if i not in runs:
                runs[i] = _run_closed(gate, context)
        finished = [run.result() if isinstance(run, Future) else run for _, run in sorted(runs.items())]
    results: list[GateResult] = []
    for gate, run in zip(gates, finished):
        findings = [finding_from_raw(raw, context.catalog, gate.name, context.environment) for raw in run.raw]
        results.append(GateResult(gate.name, findings, documents=run.checked, skipped=run.skipped))
    return results


def _run_closed(gate: Gate, context: GateContext) -> GateRun:
    """`gate.run`, with anything it raises turned into an ERROR result (configuration errors still stop the run)."""
    try:
        return gate.run(context)
    except CdgateError:
        raise
    except BaseException as exc:
        reraise_interrupts(exc)
        return GateRun(raw=[engine_failure(gate.name, exc)])


def fold_verdict(
    gates: list[GateResult],
    context: GateContext,
    *,
    started: float | None = None,
    documents: int = 0,
) -> Verdict:
    """Apply the profile (overrides, waivers) to every gate's findings and build the verdict."""
    profile = context.profile
    outcome = apply_profile(
        [f for g in gates for f in g.findings],
        profile,
        context.catalog,
        context.today,
        context.root,
        report_unused=context.whole_scope and context.admission is None,
    )
    by_gate: dict[str, list[Finding]] = {g.name: [] for g in gates}
    for finding in outcome.findings:
        by_gate.setdefault(finding.gate, []).append(finding)
    for gate in gates:
        gate.findings = sorted(by_gate.get(gate.name, []), key=finding_sort_key)
    if outcome.waiver_findings:
        gates.append(GateResult(WAIVER_GATE, outcome.waiver_findings))
    return Verdict(
        gates=gates,
        fail_on=profile.fail_on,
        profile_name=profile.name,
        environment=profile.environment,
        targets=context.targets,
        notices=outcome.notices,
        duration_s=time.perf_counter() - started if started is not None else 0.0,
        documents=documents,
        root=context.root.resolve().as_posix(),
    )
