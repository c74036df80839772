"""Benchmark: the Pod Security CEL policies over 1,000 resources, beside the pattern engine.

Three policy sets from ../shared/corpus/kyverno-policies, each evaluated on
the same resources (the Pod, Deployment and CronJob fixtures of the Pod
Security suites, cycled to the requested count):

- `pod-security-cel`: ClusterPolicies with `validate.cel` (Kyverno engine, CEL rules)
- `pod-security-vpol`: ValidatingPolicies (cdgate's CEL engine)
- `pod-security`: the same controls as Kyverno pattern rules (the pattern engine)

It reports resource x rule evaluations per second for each.

    .venv/bin/python benchmarks/cel/run.py [--resources 1000] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scanner.engines.kyverno import KyvernoPolicySet  # noqa: E402
from scanner.engines.kyverno.policy import Policy, load_policy_file  # noqa: E402
from scanner.engines.kyverno.validating_policy import (  # noqa: E402
    CelRequest, ValidatingPolicy, build_validating_policy, check_validating_policy, is_validating_policy,
)
from scanner.engines.kyverno.yamlio import load_all  # noqa: E402

LIBRARY = REPO.parent / "shared" / "corpus" / "kyverno-policies"


def _policy_files(folder: str) -> list[Path]:
    return [p for p in sorted((LIBRARY / folder).rglob("*.yaml"))
            if ".kyverno-test" not in p.parts and ".chainsaw-test" not in p.parts
            and p.name not in ("kustomization.yaml", "artifacthub-pkg.yml")]


def kyverno_policies(folder: str) -> list[Policy]:
    return [p for path in _policy_files(folder) for p in load_policy_file(path) if p.rules]


def validating_policies(folder: str) -> list[ValidatingPolicy]:
    out = []
    for path in _policy_files(folder):
        for doc in load_all(path.read_text()):
            if is_validating_policy(doc):
                out.append(build_validating_policy(doc, str(path)))
    return out


def resources(count: int) -> list[dict[str, Any]]:
    pool: list[dict[str, Any]] = []
    for path in sorted((LIBRARY / "pod-security-cel").rglob(".kyverno-test/resource*.yaml")):
        pool.extend(d for d in load_all(path.read_text()) if isinstance(d, dict) and d.get("kind"))
    if not pool:
        raise SystemExit("no resources under " + str(LIBRARY / "pod-security-cel"))
    # Distinct copies: each resource is a new object, as in a real run (no cache sees one twice).
    return [copy.deepcopy(pool[i % len(pool)]) for i in range(count)]


def _run_kyverno(policies: list[Policy], objects: list[dict[str, Any]]) -> dict[str, Any]:
    policy_set = KyvernoPolicySet(policies)
    counts: Counter[str] = Counter()
    started, cpu_started = time.perf_counter(), time.process_time()
    for obj in objects:
        for _policy, result in policy_set.results(obj):
            counts[result.status] += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return _report(len(policies), policy_set.rule_count, len(objects), seconds, cpu, counts)


def _run_vpol(policies: list[ValidatingPolicy], objects: list[dict[str, Any]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    started, cpu_started = time.perf_counter(), time.process_time()
    for obj in objects:
        request = CelRequest(obj)
        for policy in policies:
            outcome = check_validating_policy(policy, request)
            counts[outcome.status if outcome else "not-matched"] += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return _report(len(policies), len(policies), len(objects), seconds, cpu, counts)


def _report(policies: int, rules: int, count: int, seconds: float, cpu: float, counts: Counter[str]) -> dict[str, Any]:
    """Rates per CPU second of this process (the machine may be shared) and per wall second.

    `evaluations` is rules x resources, as the Kyverno benchmark counts;
    `applied` counts only the results of rules that selected the resource
    (a rule for Pods says nothing about a CronJob unless autogen made it apply).
    """
    evaluations = rules * count
    applied = sum(n for status, n in counts.items() if status != "not-matched")
    return {"policies": policies, "rules": rules, "resources": count, "evaluations": evaluations, "applied": applied,
            "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
            "evaluations_per_second": round(evaluations / cpu) if cpu else 0,
            "applied_per_second": round(applied / cpu) if cpu else 0,
            "wall_evaluations_per_second": round(evaluations / seconds) if seconds else 0,
            "results": dict(sorted(counts.items()))}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    objects = resources(args.resources)
    report = {
        "pod-security-cel (validate.cel)": _run_kyverno(kyverno_policies("pod-security-cel"), objects),
        "pod-security-vpol (ValidatingPolicy)": _run_vpol(validating_policies("pod-security-vpol"), objects),
        "pod-security (patterns)": _run_kyverno(kyverno_policies("pod-security"), objects),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, row in report.items():
            print(f"{name:38} {row['rules']:3} rules x {row['resources']} resources = {row['evaluations']:6} evaluations "
                  f"({row['applied']} applied) in {row['cpu_seconds']:.2f} CPU s ({row['seconds']:.2f} wall s): "
                  f"{row['evaluations_per_second']:,}/s, applied {row['applied_per_second']:,}/s  {row['results']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
