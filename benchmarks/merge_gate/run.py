"""Time `cdgate merge-gate` on a generated CD repo where one service changed.

For each size N (default 10, 100, 1,000 services) a git CD repo is generated
in a temporary directory: `services/svc-<i>/` Helm charts (Deployment,
Service, ServiceAccount) and `environments/{dev,staging,prod}/` with shared
and per-service values. `main` is committed, then a branch bumps one
service's image digest in prod. The merge gate runs on that pull request
(a fresh `cdgate` process each time, as CI runs it; median of `--repeat`
of its wall time and of its CPU time, user + system, which does not depend on
what else the machine runs):

- cold: an empty `--cache-dir`;
- warm: the same command again, the cache filled by the cold run.

Targets checked at the end (on CPU time): warm under 0.5 s at 100 services,
and cost that grows with the change, not the repository (1,000 services
within 2x of 10).
Also printed: the units evaluated and the cache hits, so a run that checked
nothing cannot pass for a fast one.

Usage: python benchmarks/merge_gate/run.py [N ...] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@example.com", "HOME": "/nonexistent", "PATH": "/usr/bin:/bin"}

CHART = "apiVersion: v2\nname: {name}\nversion: 1.0.0\n"
VALUES = """\
image:
  repository: registry.example.internal/shop/{name}
  digest: "sha256:{digest}"
replicas: 2
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Chart.Name }}
  namespace: {{ .Values.namespace }}
  labels: {app: "{{ .Chart.Name }}", owner: shop}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: "{{ .Chart.Name }}"}}
  template:
    metadata:
      labels: {app: "{{ .Chart.Name }}", owner: shop}
    spec:
      serviceAccountName: {{ .Chart.Name }}
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: app
          image: {{ .Values.image.repository }}@{{ .Values.image.digest }}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 500m, memory: 256Mi}}
          livenessProbe: {httpGet: {path: /healthz, port: 8080}}
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: "{{ .Chart.Name }}", namespace: "{{ .Values.namespace }}"}
spec:
  selector: {app: "{{ .Chart.Name }}"}
  ports: [{port: 80, targetPort: 8080}]
"""
ACCOUNT = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: "{{ .Chart.Name }}", namespace: "{{ .Values.namespace }}"}
automountServiceAccountToken: false
"""


def digest_of(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=GIT_ENV)


def generate(repo: Path, services: int) -> None:
    """Write and commit the CD repo, then branch `pr` that bumps svc-0's prod digest."""
    (repo / "gate.yaml").parent.mkdir(parents=True, exist_ok=True)
    (repo / "gate.yaml").write_text("version: 1\nname: bench\nfail_on: high\npromotion: [dev, staging, prod]\n")
    for i in range(services):
        name = f"svc-{i}"
        chart = repo / "services" / name
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(CHART.format(name=name))
        (chart / "values.yaml").write_text(VALUES.format(name=name, digest=digest_of(name, "base")))
        (chart / "templates" / "deployment.yaml").write_text(DEPLOYMENT)
        (chart / "templates" / "service.yaml").write_text(SERVICE)
        (chart / "templates" / "serviceaccount.yaml").write_text(ACCOUNT)
        for env in ENVIRONMENTS:
            values = repo / "environments" / env / name / "values.yaml"
            values.parent.mkdir(parents=True, exist_ok=True)
            values.write_text(VALUES.format(name=name, digest=digest_of(name, "v1")))
    for env in ENVIRONMENTS:
        (repo / "environments" / env / "values.yaml").write_text(f"namespace: shop-{env}\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "main")
    git(repo, "checkout", "-q", "-b", "pr")
    prod = repo / "environments" / "prod" / "svc-0" / "values.yaml"
    prod.write_text(prod.read_text().replace("replicas: 2", "replicas: 3"))
    git(repo, "commit", "-q", "-am", "svc-0: scale prod")
    git(repo, "checkout", "-q", "main")


@dataclass
class Timing:
    wall: float  # seconds, the process as CI runs it
    cpu: float  # user + system seconds of the process: what the run costs, whatever else the machine does
    line: str  # cdgate's last stderr line (verdict, units, cache hits)


def run_gate(repo: Path, cache: Path) -> tuple[Timing, int]:
    command = [sys.executable, "-m", "scanner", "merge-gate", "--repo", str(repo), "--base", "main", "--head", "pr",
               "--cache-dir", str(cache), "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT,
                               env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else ""
    return Timing(wall, cpu, line), completed.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="cdgate-bench-merge-") as temp:
        for size in args.sizes:
            repo = Path(temp) / f"repo-{size}"
            generate(repo, size)
            cold: list[Timing] = []
            warm: list[Timing] = []
            for attempt in range(args.repeat):
                cache = Path(temp) / f"cache-{size}-{attempt}"
                timing, code = run_gate(repo, cache)
                assert code == 0 and "1 unit(s)" in timing.line, timing.line
                cold.append(timing)
                timing, code = run_gate(repo, cache)
                assert code == 0 and "cache 2 hit(s), 0 miss(es)" in timing.line, timing.line
                warm.append(timing)
            rows.append((size, cold, warm))
            shutil.rmtree(repo)
    median = statistics.median
    print(f"load average before the last size: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'services':>9} {'cold wall':>10} {'cold cpu':>9} {'warm wall':>10} {'warm cpu':>9}  last warm run")
    for size, cold, warm in rows:
        print(f"{size:>9} {median(t.wall for t in cold):>10.3f} {median(t.cpu for t in cold):>9.3f} "
              f"{median(t.wall for t in warm):>10.3f} {median(t.cpu for t in warm):>9.3f}  {warm[-1].line}")
    warm_cpu = {size: median(t.cpu for t in warm) for size, _, warm in rows}
    warm_wall = {size: median(t.wall for t in warm) for size, _, warm in rows}
    ok = True
    if 100 in warm_cpu:
        met = warm_cpu[100] < 0.5
        print(f"target warm < 0.5 s at 100 services: cpu {warm_cpu[100]:.3f} s, wall {warm_wall[100]:.3f} s: {'ok' if met else 'MISSED'} (cpu)")
        ok &= met
    if 10 in warm_cpu and 1000 in warm_cpu:
        ratio = warm_cpu[1000] / warm_cpu[10]
        print(f"target warm cpu(1,000) / cpu(10) < 2: {ratio:.2f} {'ok' if ratio < 2 else 'MISSED'}")
        ok &= ratio < 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
