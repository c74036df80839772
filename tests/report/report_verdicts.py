"""Verdicts for report tests, built directly from the contract dataclasses.

`mixed_verdict()` holds one finding of every kind a report has to show:
every severity, a failing one with a hostile message, a warning, one under
the threshold, a waived one, one whose waiver expired, an engine error, one
without a line and one without a resource.
"""

from __future__ import annotations

from pathlib import Path

from scanner.findings import AppliedWaiver, Finding, GateResult, Location, Outcome, Severity, Verdict

REPO_ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA_PATH = REPO_ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"

HOSTILE_MESSAGE = 'image "evil" <script>alert(1)</script> | col [red]x[/red] **bold** @admins\nsecond line'


def finding(
    rule_id: str = "CDG-K8S-001",
    severity: Severity = Severity.HIGH,
    message: str = "container app is privileged",
    *,
    path: str = "services/service-b/templates/deployment.yaml",
    line: int | None = 21,
    kind: str | None = "Deployment",
    namespace: str | None = "shop",
    name: str | None = "api",
    json_path: str | None = "spec.template.spec.containers[0].securityContext.privileged",
    outcome: Outcome = Outcome.FAIL,
    gate: str = "manifest",
    waiver: AppliedWaiver | None = None,
    title: str | None = "Privileged container",
    help_uri: str | None = "https://cdgate.example/rules/CDG-K8S-001",
    remediation: str | None = "Set securityContext.privileged to false.",
    tags: tuple[str, ...] = ("pss:baseline", "cis:5.2.1"),
    scope: str | None = "prod",
) -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=severity,
        message=message,
        location=Location(
            path=path,
            start_line=line,
            end_line=line,
            kind=kind,
            namespace=namespace,
            name=name,
            json_path=json_path,
        ),
        engine="rego",
        gate=gate,
        outcome=outcome,
        title=title,
        help_uri=help_uri,
        remediation=remediation,
        tags=tags,
        scope=scope,
        waiver=waiver,
    )


def mixed_findings() -> list[Finding]:
    return [
        finding("CDG-K8S-001", Severity.CRITICAL, HOSTILE_MESSAGE, line=21),
        finding(
            "CDG-K8S-002",
            Severity.HIGH,
            "pod uses the host network",
            path="plain/pod.yaml",
            line=7,
            kind="Pod",
            namespace="default",
            name="debug",
            json_path="spec.hostNetwork",
            title="Host network",
            help_uri="https://cdgate.example/rules/CDG-K8S-002",
        ),
        finding(
            "CDG-K8S-010",
            Severity.MEDIUM,
            "container app has no memory limit",
            line=30,
            json_path="spec.template.spec.containers[0].resources.limits.memory",
            title="Memory limit",
        ),
        finding(
            "CDG-K8S-020",
            Severity.LOW,
            "container app has no readiness probe",
            line=25,
            json_path="spec.template.spec.containers[0]",
            outcome=Outcome.WARN,
            title="Readiness probe",
        ),
        finding(
            "CDG-K8S-030",
            Severity.INFO,
            "image tag is not pinned by digest",
            line=23,
            json_path="spec.template.spec.containers[0].image",
            title="Digest pinning",
        ),
        finding(
            "CDG-K8S-003",
            Severity.HIGH,
            "pod shares the host PID namespace",
            path="plain/pod.yaml",
            line=8,
            kind="Pod",
            namespace="default",
            name="debug",
            json_path="spec.hostPID",
            title="Host PID",
            waiver=AppliedWaiver(
                rule="CDG-K8S-003",
                reason="debug pod needs host PID | <b>temporarily</b>",
                owner="platform-team",
                expires="2099-01-31",
            ),
        ),
        finding(
            "CDG-K8S-004",
            Severity.HIGH,
            "container adds capability NET_ADMIN",
            path="plain/pod.yaml",
            line=12,
            kind="Pod",
            namespace="default",
            name="debug",
            json_path="spec.containers[0].securityContext.capabilities.add[0]",
            title="Added capabilities",
            waiver=AppliedWaiver(
                rule="CDG-K8S-004",
                reason="legacy VPN sidecar",
                owner="net-team",
                expires="2020-01-01",
                expired=True,
            ),
        ),
        finding(
            "CDG-K8S-005",
            Severity.MEDIUM,
            "namespace shop has no ResourceQuota",
            path="services/service-b/templates/namespace.yaml",
            line=None,
            kind="Namespace",
            namespace=None,
            name="shop",
            json_path=None,
            title="Namespace quota",
        ),
    ]


def error_finding() -> Finding:
    return finding(
        "CDG-INPUT-001",
        Severity.HIGH,
        "YAML could not be parsed: mapping values are not allowed here (line 4, column 9)",
        path="plain/broken.yaml",
        line=4,
        kind=None,
        namespace=None,
        name=None,
        json_path=None,
        outcome=Outcome.ERROR,
        title="Input could not be evaluated",
        help_uri=None,
        remediation="Fix the YAML syntax at the named line.",
        tags=(),
        scope=None,
    )


def mixed_verdict(*, with_error: bool = False, fail_on: Severity = Severity.HIGH) -> Verdict:
    findings = mixed_findings()
    gates = [
        GateResult(name="manifest", findings=findings, documents=12),
        GateResult(name="signature", documents=0, skipped="no registry configured"),
    ]
    if with_error:
        gates.append(GateResult(name="inputs", findings=[error_finding()], documents=1))
    return Verdict(
        gates=gates,
        fail_on=fail_on,
        profile_name="default",
        environment="prod",
        targets=("examples/cd-repo",),
        notices=["waiver for CDG-K8S-003 on Pod/default/debug expires in 5 days (owner platform-team)"],
        duration_s=0.42,
    )


def clean_verdict() -> Verdict:
    return Verdict(
        gates=[GateResult(name="manifest", findings=[], documents=9)],
        fail_on=Severity.HIGH,
        environment="dev",
        targets=("services/service-a",),
    )


def many_findings(counts: dict[Severity, int]) -> list[Finding]:
    """`counts[severity]` distinct findings per severity (distinct resources, so distinct fingerprints)."""
    out: list[Finding] = []
    for severity, n in counts.items():
        for i in range(n):
            out.append(
                Finding(
                    rule_id=f"CDG-K8S-{severity.rank:03d}",
                    severity=severity,
                    message=f"{severity.value} finding {i}",
                    location=Location(
                        path=f"gen/{severity.value}/svc-{i % 97}.yaml",
                        start_line=1 + i % 400,
                        kind="Deployment",
                        namespace=f"ns-{i % 13}",
                        name=f"{severity.value}-{i}",
                        json_path="spec.replicas",
                    ),
                    engine="rego",
                    gate="manifest",
                    title=f"Synthetic {severity.value} rule",
                    help_uri="https://cdgate.example/rules/synthetic",
                )
            )
    return out
