"""Benchmark: the Gatekeeper library's Pod Security templates over 1,000 Pods, beside the bundled Rego.

Loads every template under ../shared/corpus/gatekeeper-library/library/pod-security-policy
with the first sample constraint of each, takes the Pods from the library's
own samples (cycled to the requested count, each renamed), and reports
template x Pod evaluations per second through the gate's Gatekeeper engine;
then the same Pods through the bundled Rego policies (which cover the same
Pod Security controls, and more) for Pods per second.

    .venv/bin/python benchmarks/gatekeeper/run.py [--pods 1000] [--json] [--disable-k8s-native-validation]

Templates carrying K8sNativeValidation run their CEL (as Gatekeeper does)
unless `--disable-k8s-native-validation` runs their Rego.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scanner.engines.base import EvaluationRequest, Level  # noqa: E402
from scanner.engines.gatekeeper.client import PolicyDocuments, collect, compile_policies  # noqa: E402
from scanner.engines.gatekeeper.engine import GatekeeperEngine  # noqa: E402
from scanner.engines.gatekeeper.files import read_documents  # noqa: E402
from scanner.engines.rego import BUNDLED_REGO_DIR, RegoPolicySet  # noqa: E402
from scanner.inputs.document import Document  # noqa: E402

LIBRARY = REPO.parent / "shared" / "corpus" / "gatekeeper-library" / "library" / "pod-security-policy"


def pod_security_engine(k8s_native_validation: bool = True) -> tuple[GatekeeperEngine, int]:
    found = PolicyDocuments()
    for template in sorted(LIBRARY.glob("*/template.yaml")):
        collect(read_documents(template), found)
        constraints = sorted(template.parent.glob("samples/*/constraint.yaml"))
        if constraints:
            collect(read_documents(constraints[0]), found)
    policies = compile_policies(found, k8s_native_validation=k8s_native_validation)
    return GatekeeperEngine(policies), len(policies.templates)


def library_pods(count: int) -> list[Document]:
    pool: list[dict[str, Any]] = []
    for path in sorted(LIBRARY.glob("*/samples/*/*.yaml")):
        if path.name == "constraint.yaml":
            continue
        for doc in read_documents(path):
            if isinstance(doc.obj, dict) and doc.obj.get("kind") == "Pod":
                pool.append(doc.obj)
    pods = []
    for i in range(count):
        obj = copy.deepcopy(pool[i % len(pool)])
        obj.setdefault("metadata", {})["name"] = f"bench-{i}"
        obj["metadata"].setdefault("namespace", "bench")
        pods.append(Document(obj, f"pods/{i}.yaml"))
    return pods


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--disable-k8s-native-validation", action="store_true",
                        help="run the templates' Rego even where they carry CEL")
    args = parser.parse_args()
    if not LIBRARY.is_dir():
        print(f"the Gatekeeper library is not at {LIBRARY}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    engine, templates = pod_security_engine(not args.disable_k8s_native_validation)
    compile_s = time.perf_counter() - started
    pods = library_pods(args.pods)
    engine.evaluate(EvaluationRequest(pods[:10]))  # build this thread's engines outside the timing
    started = time.perf_counter()
    results = engine.evaluate(EvaluationRequest(pods))
    gatekeeper_s = time.perf_counter() - started
    errors = sum(r.level is Level.ERROR for r in results)

    rego = RegoPolicySet.compile([BUNDLED_REGO_DIR], root=REPO)
    rego.evaluate(EvaluationRequest(pods[:10]))
    started = time.perf_counter()
    rego_results = rego.evaluate(EvaluationRequest(pods))
    rego_s = time.perf_counter() - started

    report = {
        "pods": len(pods),
        "templates": templates,
        "constraints": len(engine.policies.constraints),
        "cel_templates": len(engine.policies.native),
        "compile_seconds": round(compile_s, 3),
        "gatekeeper_seconds": round(gatekeeper_s, 3),
        "gatekeeper_evaluations": templates * len(pods),
        "gatekeeper_evaluations_per_second": round(templates * len(pods) / gatekeeper_s),
        "gatekeeper_pods_per_second": round(len(pods) / gatekeeper_s),
        "gatekeeper_violations": sum(r.level is not Level.ERROR for r in results),
        "gatekeeper_errors": errors,
        "rego_packages": len(rego.packages),
        "rego_seconds": round(rego_s, 3),
        "rego_pods_per_second": round(len(pods) / rego_s),
        "rego_findings": len(rego_results),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"Gatekeeper Pod Security: {templates} templates ({report['cel_templates']} running CEL) x {len(pods)} Pods in {gatekeeper_s:.2f}s = "
              f"{report['gatekeeper_evaluations_per_second']:,} template evaluations/s "
              f"({report['gatekeeper_pods_per_second']:,} Pods/s; {report['gatekeeper_violations']} violations, {errors} errors; "
              f"compiled in {compile_s:.2f}s)")
        print(f"Bundled Rego: {len(rego.packages)} packages x {len(pods)} Pods in {rego_s:.2f}s = "
              f"{report['rego_pods_per_second']:,} Pods/s ({len(rego_results)} findings)")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
