"""Benchmark: the Kyverno policy library's validate policies over 1,000 resources.

Loads every policy of ../shared/corpus/kyverno-policies that the engine
accepts (validate rules only), takes the resources from the library's own
test suites (cycled to the requested count) and reports resource x rule
evaluations per second, the number Kyverno's CLI is slow at
(kyverno/kyverno#12967: about 10 minutes for 3,000 resources).

    .venv/bin/python benchmarks/kyverno/run.py [--resources 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scanner.engines.kyverno import KyvernoPolicySet  # noqa: E402
from scanner.engines.kyverno.policy import Policy, check_policy, load_policy_file  # noqa: E402
from scanner.engines.kyverno.yamlio import load_all  # noqa: E402
from scanner.errors import PolicyError  # noqa: E402

LIBRARY = REPO.parent / "shared" / "corpus" / "kyverno-policies"


def library_policies() -> list[Policy]:
    policies: list[Policy] = []
    for path in sorted(LIBRARY.rglob("*.yaml")):
        if ".kyverno-test" in path.parts or ".chainsaw-test" in path.parts or path.name.startswith("kyverno-test"):
            continue
        try:
            loaded = load_policy_file(path)
            for policy in loaded:
                check_policy(policy, check_roots=False)
        except PolicyError:
            continue  # CEL, podSecurity and friends are out of scope
        policies.extend(p for p in loaded if p.rules and not _needs_cluster(p))
    return policies


def _needs_cluster(policy: Policy) -> bool:
    """Policies that read the live cluster or a registry (apiCall, imageRegistry,
    configMap) only produce offline errors here, which would flatter the rate."""
    text = repr([r.context for r in policy.rules] + [r.validate for r in policy.rules])
    return any(key in text for key in ("'apiCall'", "'imageRegistry'", "'configMap'", "'globalReference'"))


def library_resources(count: int) -> list[dict]:
    pool: list[dict] = []
    for path in sorted(LIBRARY.rglob(".kyverno-test/*.yaml")):
        if path.name.startswith("kyverno-test") or "values" in path.name:
            continue
        try:
            docs = list(load_all(path.read_text()))
        except Exception:  # noqa: BLE001 - a broken fixture is simply not used
            continue
        pool.extend(d for d in docs if isinstance(d, dict) and d.get("kind") and d.get("apiVersion"))
    if not pool:
        raise SystemExit("no resources found under " + str(LIBRARY))
    return [pool[i % len(pool)] for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    policies = library_policies()
    policy_set = KyvernoPolicySet(policies)
    load_s = time.perf_counter() - started
    resources = library_resources(args.resources)
    rules = policy_set.rule_count

    started = time.perf_counter()
    statuses: dict[str, int] = {}
    for obj in resources:
        for _policy, result in policy_set.results(obj):
            statuses[result.status] = statuses.get(result.status, 0) + 1
    eval_s = time.perf_counter() - started
    evaluations = len(resources) * rules
    report = {
        "policies": len(policies),
        "rules": rules,
        "resources": len(resources),
        "evaluations": evaluations,
        "seconds": round(eval_s, 3),
        "evaluations_per_second": round(evaluations / eval_s),
        "load_seconds": round(load_s, 3),
        "results": statuses,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['policies']} policies, {rules} rules (with autogen), {len(resources)} resources")
        print(f"policies loaded and compiled in {load_s:.2f}s")
        print(f"{evaluations} resource x rule evaluations in {eval_s:.2f}s: "
              f"{report['evaluations_per_second']:,} evaluations/s")
        print("rule results: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
