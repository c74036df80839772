"""`validate.podSecurity`: Pod Security Standards controls and exclusions."""

from __future__ import annotations

from scanner.engines.kyverno import podsecurity


def pod(container: dict, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1", **container}], **spec}}


RESTRICTED_OK = {
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
        "capabilities": {"drop": ["ALL"]},
    }
}


def controls(result: tuple[bool, list[podsecurity.Violation]] | None) -> set[str]:
    assert result is not None
    return {v.control for v in result[1]}


def test_baseline_flags_host_namespaces_privileged_and_hostpath() -> None:
    bad = pod({"securityContext": {"privileged": True}}, hostNetwork=True,
              volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    assert controls(podsecurity.evaluate({"level": "baseline"}, bad)) == {
        "Host Namespaces", "Privileged Containers", "HostPath Volumes"}
    assert podsecurity.evaluate({"level": "baseline"}, pod({}))[0] is True


def test_restricted_needs_the_hardened_security_context() -> None:
    assert podsecurity.evaluate({"level": "restricted"}, pod(RESTRICTED_OK))[0] is True
    result = podsecurity.evaluate({"level": "restricted"}, pod({}))
    assert controls(result) == {"Privilege Escalation", "Running as Non-root", "Seccomp", "Capabilities"}


def test_exclusions_by_control_and_image() -> None:
    ctx = {"securityContext": {**RESTRICTED_OK["securityContext"], "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}}
    spec = {"level": "restricted", "exclude": [{"controlName": "Capabilities", "images": ["nginx*"]}]}
    assert podsecurity.evaluate(spec, pod(ctx))[0] is True
    spec["exclude"][0]["images"] = ["redis*"]
    assert podsecurity.evaluate(spec, pod(ctx))[0] is False


def test_controllers_are_checked_through_their_template() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"template": {"spec": {"hostPID": True, "containers": [{"name": "c", "image": "x"}]}}}}
    assert controls(podsecurity.evaluate({"level": "baseline"}, deployment)) == {"Host Namespaces"}
    assert podsecurity.evaluate({"level": "baseline"}, {"kind": "ConfigMap"}) is None
