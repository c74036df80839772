"""Generate the manifests benchmark: N services x 3 environments of plain YAML.

Each service in each environment gets the seven resources a typical web
service ships with (Deployment, Service, ServiceAccount, HorizontalPodAutoscaler,
PodDisruptionBudget, ConfigMap, Ingress), written as one multi-document file
per service and environment, the way hydrated GitOps repos keep them:

    generated/<N>/environments/<env>/<team>/<service>.yaml   (7 documents each)

Most services are well configured; a deterministic minority carry the mistakes
real repos have (no limits, no probes, a `:latest` image, root user, host
network, no TLS), so every scanner has findings to report and no tool gets a
cheap all-pass run. The output depends only on N: the same N always writes the
same bytes, so runs on different machines compare like with like.

Usage: python benchmarks/manifests/generate.py [N ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENTS = ("dev", "staging", "prod")
TEAMS = ("storefront", "checkout", "payments", "search", "identity", "logistics")
DOCUMENTS_PER_SERVICE = 7
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "generated"
REGISTRY = "registry.example.internal"


@dataclass(frozen=True)
class Flaws:
    """Which mistakes one service carries (chosen from its index, not at random)."""

    no_limits: bool
    no_probes: bool
    latest_tag: bool
    runs_as_root: bool
    host_network: bool
    no_tls: bool

    @classmethod
    def for_service(cls, index: int) -> Flaws:
        return cls(
            no_limits=index % 5 == 1,
            no_probes=index % 7 == 2,
            latest_tag=index % 11 == 3,
            runs_as_root=index % 13 == 4,
            host_network=index % 17 == 5,
            no_tls=index % 9 == 6,
        )


def service_name(index: int) -> str:
    return f"svc-{index:04d}"


def team_of(index: int) -> str:
    return TEAMS[index % len(TEAMS)]


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_for(index: int, env: str, flaws: Flaws) -> str:
    repo = f"{REGISTRY}/{team_of(index)}/{service_name(index)}"
    if flaws.latest_tag:
        return f"{repo}:latest"
    version = f"1.{index % 40}.{index % 7}"
    if env == "prod":
        return f"{repo}@{digest_of(repo + ':' + version)}"
    return f"{repo}:{version}"


def render_service(index: int, env: str) -> str:
    """The seven documents of one service in one environment, as YAML text."""
    name = service_name(index)
    namespace = f"{team_of(index)}-{env}"
    flaws = Flaws.for_service(index)
    replicas = 3 if env == "prod" else 2
    labels = (
        f"    app.kubernetes.io/name: {name}\n"
        f"    app.kubernetes.io/part-of: {team_of(index)}\n"
        f"    environment: {env}\n"
    )
    run_as = "runAsUser: 0" if flaws.runs_as_root else "runAsUser: 10001"
    non_root = "false" if flaws.runs_as_root else "true"
    host_network = "      hostNetwork: true\n" if flaws.host_network else ""
    limits = (
        ""
        if flaws.no_limits
        else "            limits:\n              cpu: 500m\n              memory: 256Mi\n"
    )
    probes = (
        ""
        if flaws.no_probes
        else (
            "          livenessProbe:\n"
            "            httpGet: {path: /healthz, port: http}\n"
            "            periodSeconds: 10\n"
            "          readinessProbe:\n"
            "            httpGet: {path: /ready, port: http}\n"
            "            periodSeconds: 5\n"
        )
    )
    tls = (
        ""
        if flaws.no_tls
        else f"  tls:\n    - hosts: [{name}.{env}.example.com]\n      secretName: {name}-tls\n"
    )
    return f"""\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
  namespace: {namespace}
  labels:
{labels}automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {namespace}
  labels:
{labels}data:
  LOG_LEVEL: {"debug" if env == "dev" else "info"}
  UPSTREAM_URL: http://{service_name((index + 1) % 10_000)}.{namespace}.svc:8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels:
{labels}spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      serviceAccountName: {name}
      automountServiceAccountToken: false
{host_network}      securityContext:
        runAsNonRoot: {non_root}
        {run_as}
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: app
          image: {image_for(index, env, flaws)}
          ports:
            - name: http
              containerPort: 8080
          envFrom:
            - configMapRef:
                name: {name}-config
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
{limits}{probes}---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
  labels:
{labels}spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {namespace}
  labels:
{labels}spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: {replicas}
  maxReplicas: {replicas * 4}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  namespace: {namespace}
  labels:
{labels}spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {name}
  namespace: {namespace}
  labels:
{labels}spec:
  ingressClassName: nginx
{tls}  rules:
    - host: {name}.{env}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {name}
                port:
                  name: http
"""


def generate(n: int, out: Path = DEFAULT_OUT) -> Path:
    """Write the tree for N services into `out/<N>/` (replacing it); return it."""
    if n < 1:
        raise ValueError("N must be at least 1")
    target = out / str(n)
    if target.exists():
        shutil.rmtree(target)
    for index in range(n):
        for env in ENVIRONMENTS:
            path = target / "environments" / env / team_of(index) / f"{service_name(index)}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_service(index, env), encoding="utf-8")
    return target


def document_count(n: int) -> int:
    return n * len(ENVIRONMENTS) * DOCUMENTS_PER_SERVICE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[20, 100, 500], metavar="N")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for generated/<N>/")
    args = parser.parse_args(argv)
    for n in args.sizes:
        target = generate(n, args.out)
        files = n * len(ENVIRONMENTS)
        print(f"N={n}: {document_count(n)} documents in {files} files under {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
