"""`validate.podSecurity`: the Kubernetes Pod Security Standards as a rule.

Each control of the Baseline and Restricted profiles (as of the latest
Kubernetes release) is checked on the pod spec of a Pod or pod controller.
A violation is excused by an `exclude` entry naming its control: without
`images` it covers pod-level fields, with `images` the fields of containers
whose image matches; `restrictedField` and `values` narrow it further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from scanner.engines.kyverno import wildcard
from scanner.engines.kyverno.yamlio import as_map

LEVELS = ("privileged", "baseline", "restricted")
_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
_BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}
_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
_RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                       "projected", "secret", "image"}


@dataclass(frozen=True)
class Violation:
    control: str
    field: str  # e.g. spec.containers[*].securityContext.privileged
    value: Any
    image: str | None = None  # None for pod-level fields

    def describe(self) -> str:
        return f"{self.control}: {self.field}={self.value!r}" + (f" (image {self.image})" if self.image else "")


def pod_spec_of(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(pod metadata, pod spec) of a Pod, pod controller or CronJob; None otherwise."""
    kind = obj.get("kind")
    if kind == "Pod":
        return as_map(obj.get("metadata")), as_map(obj.get("spec"))
    spec = as_map(obj.get("spec"))
    if kind == "CronJob":
        job = as_map(spec.get("jobTemplate"))
        spec = as_map(job.get("spec"))
    template = spec.get("template") if isinstance(spec, dict) else None
    if isinstance(template, dict):
        return as_map(template.get("metadata")), as_map(template.get("spec"))
    return None


def _containers(spec: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for field in _CONTAINER_FIELDS:
        for container in _list(spec.get(field)):
            if isinstance(container, dict):
                yield field, container


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    sc = obj.get("securityContext")
    return sc if isinstance(sc, dict) else {}


Check = Callable[[dict[str, Any], dict[str, Any]], list[Violation]]


def _host_process(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    if as_map(_sc(spec).get("windowsOptions")).get("hostProcess") is True:
        out.append(Violation("HostProcess", "spec.securityContext.windowsOptions.hostProcess", True))
    for field, c in _containers(spec):
        if as_map(_sc(c).get("windowsOptions")).get("hostProcess") is True:
            out.append(Violation("HostProcess", f"spec.{field}[*].securityContext.windowsOptions.hostProcess", True, c.get("image")))
    return out


def _host_namespaces(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    return [Violation("Host Namespaces", f"spec.{k}", True) for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]


def _privileged(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    return [Violation("Privileged Containers", f"spec.{f}[*].securityContext.privileged", True, c.get("image"))
            for f, c in _containers(spec) if _sc(c).get("privileged") is True]


def _capabilities_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    for f, c in _containers(spec):
        for cap in _list(as_map(_sc(c).get("capabilities")).get("add")):
            if cap not in _BASELINE_CAPABILITIES:
                out.append(Violation("Capabilities", f"spec.{f}[*].securityContext.capabilities.add", cap, c.get("image")))
    return out


def _host_path(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    return [Violation("HostPath Volumes", "spec.volumes[*].hostPath", as_map(v.get("hostPath")).get("path"))
            for v in _list(spec.get("volumes")) if isinstance(v, dict) and "hostPath" in v]


def _host_ports(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    for f, c in _containers(spec):
        for port in _list(c.get("ports")):
            if isinstance(port, dict) and port.get("hostPort") not in (None, 0):
                out.append(Violation("Host Ports", f"spec.{f}[*].ports[*].hostPort", port.get("hostPort"), c.get("image")))
    return out


def _apparmor(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    for key, value in as_map(meta.get("annotations")).items():
        if str(key).startswith("container.apparmor.security.beta.kubernetes.io/"):
            if not (value == "runtime/default" or str(value).startswith("localhost/")):
                out.append(Violation("AppArmor", f"metadata.annotations[{key}]", value))
    profile = as_map(_sc(spec).get("appArmorProfile")).get("type")
    if profile not in (None, "RuntimeDefault", "Localhost"):
        out.append(Violation("AppArmor", "spec.securityContext.appArmorProfile.type", profile))
    for f, c in _containers(spec):
        ctype = as_map(_sc(c).get("appArmorProfile")).get("type")
        if ctype not in (None, "RuntimeDefault", "Localhost"):
            out.append(Violation("AppArmor", f"spec.{f}[*].securityContext.appArmorProfile.type", ctype, c.get("image")))
    return out


def _selinux_one(options: dict[str, Any], prefix: str, image: str | None) -> list[Violation]:
    out = []
    if options.get("type", "") not in _SELINUX_TYPES:
        out.append(Violation("SELinux", f"{prefix}.seLinuxOptions.type", options.get("type"), image))
    for key in ("user", "role"):
        if options.get(key):
            out.append(Violation("SELinux", f"{prefix}.seLinuxOptions.{key}", options.get(key), image))
    return out


def _selinux(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = _selinux_one(as_map(_sc(spec).get("seLinuxOptions")), "spec.securityContext", None)
    for f, c in _containers(spec):
        out += _selinux_one(as_map(_sc(c).get("seLinuxOptions")), f"spec.{f}[*].securityContext", c.get("image"))
    return out


def _proc_mount(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    return [Violation("/proc Mount Type", f"spec.{f}[*].securityContext.procMount", _sc(c).get("procMount"), c.get("image"))
            for f, c in _containers(spec) if _sc(c).get("procMount") not in (None, "Default")]


def _seccomp_baseline(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    if as_map(_sc(spec).get("seccompProfile")).get("type") == "Unconfined":
        out.append(Violation("Seccomp", "spec.securityContext.seccompProfile.type", "Unconfined"))
    for f, c in _containers(spec):
        if as_map(_sc(c).get("seccompProfile")).get("type") == "Unconfined":
            out.append(Violation("Seccomp", f"spec.{f}[*].securityContext.seccompProfile.type", "Unconfined", c.get("image")))
    return out


def _sysctls(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    return [Violation("Sysctls", "spec.securityContext.sysctls[*].name", s.get("name"))
            for s in _list(_sc(spec).get("sysctls")) if isinstance(s, dict) and s.get("name") not in _SAFE_SYSCTLS]


def _volume_types(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    for volume in _list(spec.get("volumes")):
        if not isinstance(volume, dict):
            continue
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in _RESTRICTED_VOLUMES:
                out.append(Violation("Volume Types", f"spec.volumes[*].{kind}", volume.get("name")))
    return out


def _privilege_escalation(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    return [Violation("Privilege Escalation", f"spec.{f}[*].securityContext.allowPrivilegeEscalation",
                      _sc(c).get("allowPrivilegeEscalation"), c.get("image"))
            for f, c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]


def _run_as_non_root(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    pod_value = _sc(spec).get("runAsNonRoot")
    if pod_value is False:
        out.append(Violation("Running as Non-root", "spec.securityContext.runAsNonRoot", False))
    for f, c in _containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is False or (value is None and pod_value is not True):
            out.append(Violation("Running as Non-root", f"spec.{f}[*].securityContext.runAsNonRoot", value, c.get("image")))
    return out


def _run_as_user(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    if _sc(spec).get("runAsUser") == 0:
        out.append(Violation("Running as Non-root user", "spec.securityContext.runAsUser", 0))
    for f, c in _containers(spec):
        if _sc(c).get("runAsUser") == 0:
            out.append(Violation("Running as Non-root user", f"spec.{f}[*].securityContext.runAsUser", 0, c.get("image")))
    return out


def _seccomp_restricted(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    allowed = ("RuntimeDefault", "Localhost")
    out = []
    pod_type = as_map(_sc(spec).get("seccompProfile")).get("type")
    if pod_type is not None and pod_type not in allowed:
        out.append(Violation("Seccomp", "spec.securityContext.seccompProfile.type", pod_type))
    for f, c in _containers(spec):
        ctype = as_map(_sc(c).get("seccompProfile")).get("type")
        if (ctype is not None and ctype not in allowed) or (ctype is None and pod_type not in allowed):
            out.append(Violation("Seccomp", f"spec.{f}[*].securityContext.seccompProfile.type", ctype, c.get("image")))
    return out


def _capabilities_restricted(meta: dict[str, Any], spec: dict[str, Any]) -> list[Violation]:
    out = []
    for f, c in _containers(spec):
        caps = as_map(_sc(c).get("capabilities"))
        if "ALL" not in _list(caps.get("drop")):
            out.append(Violation("Capabilities", f"spec.{f}[*].securityContext.capabilities.drop", caps.get("drop"), c.get("image")))
        for cap in _list(caps.get("add")):
            if cap != "NET_BIND_SERVICE":
                out.append(Violation("Capabilities", f"spec.{f}[*].securityContext.capabilities.add", cap, c.get("image")))
    return out


BASELINE: list[Check] = [_host_process, _host_namespaces, _privileged, _capabilities_baseline, _host_path, _host_ports,
                         _apparmor, _selinux, _proc_mount, _seccomp_baseline, _sysctls]
RESTRICTED_EXTRA: list[Check] = [_volume_types, _privilege_escalation, _run_as_non_root, _run_as_user,
                                 _seccomp_restricted, _capabilities_restricted]


def _excused(violation: Violation, excludes: list[dict[str, Any]]) -> bool:
    for entry in excludes:
        if entry.get("controlName") != violation.control:
            continue
        images = _list(entry.get("images"))
        if violation.image is None:
            if images:
                continue
        elif not images or not any(wildcard.match(str(p), str(violation.image)) for p in images):
            continue
        field = entry.get("restrictedField")
        if field and field.replace("[*]", "") != violation.field.replace("[*]", ""):
            continue
        values = entry.get("values")
        if values and str(violation.value) not in [str(v) for v in values]:
            continue
        return True
    return False


def evaluate(spec: dict[str, Any], obj: dict[str, Any]) -> tuple[bool, list[Violation]] | None:
    """(passed, unexcused violations), or None when the resource has no pod spec."""
    found = pod_spec_of(obj)
    if found is None:
        return None
    meta, pod_spec = found
    meta = meta if isinstance(meta, dict) else {}
    pod_spec = pod_spec if isinstance(pod_spec, dict) else {}
    level = str(spec.get("level") or "baseline").lower()
    checks = [] if level == "privileged" else list(BASELINE)
    if level == "restricted":
        checks = [c for c in checks if c not in (_capabilities_baseline, _seccomp_baseline)] + RESTRICTED_EXTRA
    excludes = [e for e in _list(spec.get("exclude")) if isinstance(e, dict)]
    violations = [v for check in checks for v in check(meta, pod_spec) if not _excused(v, excludes)]
    return not violations, violations
