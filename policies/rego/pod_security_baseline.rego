# Pod Security Standards, baseline level: block the known privilege
# escalations (privileged containers, host namespaces, hostPath, hostPort,
# extra capabilities, unmasked /proc, unsafe sysctls, AppArmor/SELinux/seccomp
# turned off, Windows HostProcess).
#
# https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline
package cdgate.k8s.pss_baseline

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods
import data.cdgate.lib.values

# Capabilities the baseline level allows a container to add.
baseline_capabilities := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

# normalize_capability("cap_sys_admin") == "SYS_ADMIN": runtimes accept both spellings.
normalize_capability(cap) := trim_prefix(upper(cap), "CAP_")

allowed_selinux_types := {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

# CDG-K8S-001: privileged containers.
deny contains {
	"msg": sprintf("%s: %s %q runs privileged; remove securityContext.privileged or set it to false", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-001",
	"path": pods.field_path(c, ["securityContext", "privileged"]),
} if {
	some c in pods.containers
	c.container.securityContext.privileged == true
}

# CDG-K8S-002: sharing the node's network, PID or IPC namespace.
deny contains {
	"msg": sprintf("%s: pod shares the node's %s namespace (%s: true); remove %s", [context.resource, ns, field, field]),
	"rule_id": "CDG-K8S-002",
	"path": array.concat(pod.path, [field]),
} if {
	some pod in pods.pod_specs
	some field, ns in {"hostNetwork": "network", "hostPID": "PID", "hostIPC": "IPC"}
	pod.spec[field] == true
}

# CDG-K8S-003: hostPath volumes.
deny contains {
	"msg": sprintf("%s: volume %q mounts the node path %q; use a persistentVolumeClaim, configMap, secret or emptyDir instead", [context.resource, object.get(vol, "name", sprintf("#%d", [i])), object.get(vol, ["hostPath", "path"], "")]),
	"rule_id": "CDG-K8S-003",
	"path": array.concat(pod.path, ["volumes", i, "hostPath"]),
} if {
	some pod in pods.pod_specs
	some i, vol in values.list(object.get(pod.spec, "volumes", []))
	is_object(vol)
	vol.hostPath
}

# CDG-K8S-004: hostPort binds a port on the node.
deny contains {
	"msg": sprintf("%s: %s %q binds host port %v; remove hostPort and expose the port through a Service", [context.resource, c.label, c.name, port.hostPort]),
	"rule_id": "CDG-K8S-004",
	"path": pods.field_path(c, ["ports", j, "hostPort"]),
} if {
	some c in pods.containers
	some j, port in values.list(object.get(c.container, "ports", []))
	port.hostPort
	port.hostPort != 0
}

# CDG-K8S-005: capabilities beyond the baseline set.
deny contains {
	"msg": sprintf("%s: %s %q adds capability %s; remove it from securityContext.capabilities.add", [context.resource, c.label, c.name, cap]),
	"rule_id": "CDG-K8S-005",
	"path": pods.field_path(c, ["securityContext", "capabilities", "add", k]),
} if {
	some c in pods.containers
	some k, cap in values.list(object.get(c.container, ["securityContext", "capabilities", "add"], []))
	is_string(cap)
	not baseline_capabilities[normalize_capability(cap)]
}

# CDG-K8S-006: unmasked /proc.
deny contains {
	"msg": sprintf("%s: %s %q sets procMount %q; remove securityContext.procMount (Default masks /proc)", [context.resource, c.label, c.name, mount]),
	"rule_id": "CDG-K8S-006",
	"path": pods.field_path(c, ["securityContext", "procMount"]),
} if {
	some c in pods.containers
	mount := c.container.securityContext.procMount
	mount != "Default"
	mount != null # null is unset, as in Kubernetes (and a null in %q is an error in regorus)
}

# CDG-K8S-007: sysctls outside the safe set.
deny contains {
	"msg": sprintf("%s: sysctl %q is not in the safe set; remove it or ask the platform team to allow it", [context.resource, sysctl.name]),
	"rule_id": "CDG-K8S-007",
	"path": array.concat(pod.path, ["securityContext", "sysctls", i, "name"]),
} if {
	some pod in pods.pod_specs
	some i, sysctl in values.list(object.get(pod.spec, ["securityContext", "sysctls"], []))
	is_string(sysctl.name)
	not sysctl.name in values.list(context.param("allowed_sysctls", []))
}

# CDG-K8S-008: AppArmor turned off, through the annotation or securityContext.
deny contains {
	"msg": sprintf("%s: AppArmor annotation %q is %q; use runtime/default or a localhost/ profile", [context.resource, key, value]),
	"rule_id": "CDG-K8S-008",
	"path": array.concat(pod.meta_path, ["annotations", key]),
} if {
	some pod in pods.pod_specs
	some key, value in values.obj(object.get(pod.meta, "annotations", {}))
	startswith(key, "container.apparmor.security.beta.kubernetes.io/")
	is_string(value)
	not _allowed_apparmor_annotation(value)
}

deny contains {
	"msg": sprintf("%s: pod sets appArmorProfile type %q; use RuntimeDefault or Localhost", [context.resource, type]),
	"rule_id": "CDG-K8S-008",
	"path": array.concat(pod.path, ["securityContext", "appArmorProfile", "type"]),
} if {
	some pod in pods.pod_specs
	type := pod.spec.securityContext.appArmorProfile.type
	not type in {"RuntimeDefault", "Localhost"}
}

deny contains {
	"msg": sprintf("%s: %s %q sets appArmorProfile type %q; use RuntimeDefault or Localhost", [context.resource, c.label, c.name, type]),
	"rule_id": "CDG-K8S-008",
	"path": pods.field_path(c, ["securityContext", "appArmorProfile", "type"]),
} if {
	some c in pods.containers
	type := c.container.securityContext.appArmorProfile.type
	not type in {"RuntimeDefault", "Localhost"}
}

_allowed_apparmor_annotation(value) if value in {"", "runtime/default"}

_allowed_apparmor_annotation(value) if startswith(value, "localhost/")

# CDG-K8S-009: custom SELinux user/role, or a type outside the container types.
deny contains {
	"msg": sprintf("%s: pod sets seLinuxOptions.%s to %q; %s", [context.resource, field, value, _selinux_fix(field)]),
	"rule_id": "CDG-K8S-009",
	"path": array.concat(pod.path, ["securityContext", "seLinuxOptions", field]),
} if {
	some pod in pods.pod_specs
	some field, value in values.obj(object.get(pod.spec, ["securityContext", "seLinuxOptions"], {}))
	_selinux_violation(field, value)
}

deny contains {
	"msg": sprintf("%s: %s %q sets seLinuxOptions.%s to %q; %s", [context.resource, c.label, c.name, field, value, _selinux_fix(field)]),
	"rule_id": "CDG-K8S-009",
	"path": pods.field_path(c, ["securityContext", "seLinuxOptions", field]),
} if {
	some c in pods.containers
	some field, value in values.obj(object.get(c.container, ["securityContext", "seLinuxOptions"], {}))
	_selinux_violation(field, value)
}

_selinux_violation("type", value) if not value in allowed_selinux_types

_selinux_violation(field, value) if {
	field in {"user", "role"}
	value != ""
}

_selinux_fix("type") := "use container_t, container_init_t, container_kvm_t or container_engine_t"

_selinux_fix(field) := sprintf("remove seLinuxOptions.%s", [field]) if field != "type"

# CDG-K8S-010: seccomp explicitly Unconfined.
deny contains {
	"msg": sprintf("%s: pod sets seccompProfile type Unconfined; use RuntimeDefault", [context.resource]),
	"rule_id": "CDG-K8S-010",
	"path": array.concat(pod.path, ["securityContext", "seccompProfile", "type"]),
} if {
	some pod in pods.pod_specs
	pod.spec.securityContext.seccompProfile.type == "Unconfined"
}

deny contains {
	"msg": sprintf("%s: %s %q sets seccompProfile type Unconfined; use RuntimeDefault", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-010",
	"path": pods.field_path(c, ["securityContext", "seccompProfile", "type"]),
} if {
	some c in pods.containers
	c.container.securityContext.seccompProfile.type == "Unconfined"
}

# CDG-K8S-011: Windows HostProcess containers have full access to the node.
deny contains {
	"msg": sprintf("%s: pod runs as a Windows HostProcess; remove windowsOptions.hostProcess", [context.resource]),
	"rule_id": "CDG-K8S-011",
	"path": array.concat(pod.path, ["securityContext", "windowsOptions", "hostProcess"]),
} if {
	some pod in pods.pod_specs
	pod.spec.securityContext.windowsOptions.hostProcess == true
}

deny contains {
	"msg": sprintf("%s: %s %q runs as a Windows HostProcess; remove windowsOptions.hostProcess", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-011",
	"path": pods.field_path(c, ["securityContext", "windowsOptions", "hostProcess"]),
} if {
	some c in pods.containers
	c.container.securityContext.windowsOptions.hostProcess == true
}
