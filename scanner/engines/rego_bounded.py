"""Rego evaluation under a deadline and a memory budget, with the culprit named.

`RegoPolicySet.evaluate` hands its work to `evaluate_bounded`, which runs it
in a killable worker (`rego_isolation`). Results come back document by
document, so everything evaluated before a crash is kept. When the worker
crashes, runs out of memory or time on a document, each package is tried
alone on that document (again isolated) to name the policy responsible, and
the document gets an ERROR result: the run exits 2, never 139, never hangs.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from scanner.engines.base import EvaluationRequest, Level, RawResult
from scanner.engines.rego_isolation import (
    RUN_DEADLINE_S,
    Budget,
    Channel,
    Killed,
    Worker,
    run_isolated,
    start_worker,
    supervise,
)
from scanner.inputs.document import Document

if TYPE_CHECKING:
    from scanner.engines.rego import RegoPackage, RegoPolicySet

#: A large repo gets more time per run: this much per document, once past RUN_DEADLINE_S.
RUN_SECONDS_PER_DOCUMENT = 0.02
#: Documents from which evaluation is shared by one worker per core, and the most workers.
PARALLEL_THRESHOLD = 300
MAX_WORKERS = 4

StepKey = tuple[str, Any]  # ("doc", position in request.documents) or ("repo", scope)
Detached = tuple["int | None", RawResult]  # a result without its document, and the document's position


def worker_count(resources: int) -> int:
    """How many workers share one evaluation: one per core from PARALLEL_THRESHOLD documents on.

    Measured on the 2-core machine (benchmarks/manifests, cdgate alone):
    two workers took 1.46 s against 1.81 s for one at 2,100 documents and
    7.3 s against 9.7 s at 10,500; below a few hundred documents the second
    fork costs about what it saves.
    """
    if resources < PARALLEL_THRESHOLD:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS, resources // (PARALLEL_THRESHOLD // 2)))


def evaluate_bounded(
    policy_set: RegoPolicySet, request: EvaluationRequest, budget: Budget | None = None, workers: int | None = None
) -> list[RawResult]:
    """Every result of `policy_set` on `request`, evaluated in killable workers.

    With several workers each takes every n-th document (and the first one
    the cross-document packages); they run at once, each under the budget.
    """
    documents = list(request.documents)
    budget = budget or Budget(run_deadline_s=max(RUN_DEADLINE_S, len(documents) * RUN_SECONDS_PER_DOCUMENT))
    position = {id(d): i for i, d in enumerate(documents)}
    resources = sum(1 for d in documents if d.is_resource)
    count = workers if workers is not None else worker_count(resources)
    results: list[RawResult] = []
    lock = threading.Lock()

    def shard_work(index: int) -> Callable[[Channel], None]:
        def work(channel: Channel) -> None:
            quiet = replace(request, on_progress=None)  # progress is told by the parent

            def starting(step: tuple[str, Any]) -> None:
                channel.starting(_key(step, position))

            def emit(step: tuple[str, Any], found: list[RawResult]) -> None:
                channel.results((_key(step, position), [_detach(r, position) for r in found]))

            policy_set.evaluate_steps(quiet, starting, emit, shard=(index, count))

        return work

    def supervise_shard(index: int, worker: Worker) -> list[RawResult]:
        evaluated = 0

        def collect(payload: tuple[StepKey, list[Detached]]) -> None:
            nonlocal evaluated
            key, found = payload
            with lock:
                results.extend(replace(r, document=documents[i]) if i is not None else r for i, r in found)
                if key[0] == "doc":
                    evaluated += 1
                    request.advance(1)

        killed = supervise(worker, collect, budget)
        if killed is None:
            return []
        share = sum(1 for i in range(resources) if i % count == index)
        return _killed_results(policy_set, request, documents, killed, budget, share - evaluated)

    # every worker is forked from this thread (whose engines they inherit), then supervised at once
    started = [start_worker(shard_work(index), budget) for index in range(count)]
    if count == 1:
        failures = supervise_shard(0, started[0])
    else:
        with ThreadPoolExecutor(max_workers=count) as pool:
            failures = [r for part in pool.map(supervise_shard, range(count), started) for r in part]
    # results arrive in whatever order the workers finish: keep the documents' order, as a serial run
    results.sort(key=lambda r: position.get(id(r.document), len(documents)) if r.document is not None else len(documents))
    return results + failures


def _key(step: tuple[str, Any], position: dict[int, int]) -> StepKey:
    kind, value = step
    return (kind, position[id(value)]) if kind == "doc" else (kind, value)


def _detach(result: RawResult, position: dict[int, int]) -> Detached:
    if result.document is None:
        return None, result
    return position.get(id(result.document)), replace(result, document=None)


def _killed_results(
    policy_set: RegoPolicySet,
    request: EvaluationRequest,
    documents: list[Document],
    killed: Killed,
    budget: Budget,
    not_evaluated: int,
) -> list[RawResult]:
    from scanner.engines.rego import ENGINE

    kind, value = killed.step if isinstance(killed.step, tuple) else (None, None)
    document = documents[value] if kind == "doc" else None
    if document is not None:
        environment = request.environment or policy_set.environment or document.scope
        packages = _culprits(policy_set, environment, document, budget) or policy_set.document_packages
        target = f" on {document.path}:{document.start_line}"
    elif kind == "repo":
        packages, target = policy_set.repo_packages, f" over the documents of scope {value or 'all'}"
    else:
        packages, target = policy_set.packages, ""
    left = f"; {not_evaluated} document(s) were not evaluated" if not_evaluated > 0 else ""
    hint = (
        "look for a function or rule that calls itself, or a comprehension over a huge range; "
        "cdgate stops Rego that needs more time or memory than a gate may spend"
    )
    return [
        RawResult(
            ENGINE,
            pkg.name,
            f"Rego evaluation {killed.reason} in {pkg.name} ({pkg.path}){target}{left} ({hint})",
            Level.ERROR,
            document=document,
            policy_path=pkg.path,
        )
        for pkg in packages or _unknown_package()
    ]


def _culprits(
    policy_set: RegoPolicySet, environment: str | None, document: Document, budget: Budget
) -> list[RegoPackage]:
    """The document packages that crash or run out of bounds alone on `document`."""
    probe = Budget(min(budget.document_deadline_s, 5.0), budget.run_deadline_s, budget.memory_bytes)
    culprits = []
    for index, package in enumerate(policy_set.document_packages):

        def work(channel: Channel, index: int = index) -> None:
            channel.starting(index)
            try:
                channel.results(len(policy_set.evaluate_package(environment, document, index)))
            except Exception:  # noqa: BLE001 - an ordinary error is reported by the normal path
                channel.results(0)

        if run_isolated(work, lambda _payload: None, probe) is not None:
            culprits.append(package)
    return culprits


def _unknown_package() -> list[RegoPackage]:
    from scanner.engines.rego import RegoPackage

    return [RegoPackage("rego", "(policies)", ())]
