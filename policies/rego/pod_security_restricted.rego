# Pod Security Standards, restricted level: current pod hardening best
# practice on top of baseline (no privilege escalation, non-root, seccomp
# set, all capabilities dropped, only ephemeral/projected volume types).
#
# Each rule reports only what baseline does not already report (an
# Unconfined seccomp profile or an added SYS_ADMIN is baseline's finding),
# so one mistake gives one finding.
#
# https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
package cdgate.k8s.pss_restricted

import rego.v1

import data.cdgate.k8s.pss_baseline
import data.cdgate.lib.context
import data.cdgate.lib.pods
import data.cdgate.lib.values

restricted_volume_types := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
	"persistentVolumeClaim", "projected", "secret",
}

# Keys of a volume that are not volume sources.
_volume_meta_keys := {"name"}

# CDG-K8S-020: allowPrivilegeEscalation must be false.
deny contains {
	"msg": sprintf("%s: %s %q does not set securityContext.allowPrivilegeEscalation to false; set it to false", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-020",
	"path": pods.field_path(c, ["securityContext", "allowPrivilegeEscalation"]),
} if {
	some c in pods.containers
	object.get(c.container, ["securityContext", "allowPrivilegeEscalation"], null) != false
}

# CDG-K8S-021: runAsNonRoot must be true, at pod level or in every container.
deny contains {
	"msg": sprintf("%s: %s %q may run as root; set securityContext.runAsNonRoot to true (pod or container)", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-021",
	"path": _run_as_non_root_path(c),
} if {
	some c in pods.containers
	_effective(c, "runAsNonRoot") != true
}

# Point at the field that holds the wrong value, or at the container when unset.
_run_as_non_root_path(c) := pods.field_path(c, ["securityContext", "runAsNonRoot"]) if {
	_container_sets(c, "runAsNonRoot")
} else := array.concat(c.pod.path, ["securityContext", "runAsNonRoot"]) if {
	_pod_sets(c.pod, "runAsNonRoot")
} else := pods.field_path(c, ["securityContext", "runAsNonRoot"])

# CDG-K8S-022: runAsUser 0 (root), at pod or container level.
deny contains {
	"msg": sprintf("%s: pod sets securityContext.runAsUser to 0 (root); use a non-zero UID", [context.resource]),
	"rule_id": "CDG-K8S-022",
	"path": array.concat(pod.path, ["securityContext", "runAsUser"]),
} if {
	some pod in pods.pod_specs
	pod.spec.securityContext.runAsUser == 0
}

deny contains {
	"msg": sprintf("%s: %s %q sets securityContext.runAsUser to 0 (root); use a non-zero UID", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-022",
	"path": pods.field_path(c, ["securityContext", "runAsUser"]),
} if {
	some c in pods.containers
	c.container.securityContext.runAsUser == 0
}

# CDG-K8S-023: a seccomp profile must be set (RuntimeDefault or Localhost).
deny contains {
	"msg": sprintf("%s: %s %q has no seccomp profile; set securityContext.seccompProfile.type to RuntimeDefault (pod or container)", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-023",
	"path": pods.field_path(c, ["securityContext", "seccompProfile", "type"]),
} if {
	some c in pods.containers
	not _container_sets_seccomp(c)
	not _pod_sets_seccomp(c.pod)
}

deny contains {
	"msg": sprintf("%s: %s %q sets seccompProfile type %q; use RuntimeDefault or Localhost", [context.resource, c.label, c.name, type]),
	"rule_id": "CDG-K8S-023",
	"path": pods.field_path(c, ["securityContext", "seccompProfile", "type"]),
} if {
	some c in pods.containers
	type := c.container.securityContext.seccompProfile.type
	not type in {"RuntimeDefault", "Localhost", "Unconfined"}
}

_container_sets_seccomp(c) if c.container.securityContext.seccompProfile.type

_pod_sets_seccomp(pod) if pod.spec.securityContext.seccompProfile.type

# CDG-K8S-024: every capability must be dropped.
deny contains {
	"msg": sprintf("%s: %s %q does not drop all capabilities; add ALL to securityContext.capabilities.drop", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-024",
	"path": pods.field_path(c, ["securityContext", "capabilities", "drop"]),
} if {
	some c in pods.containers
	drops := {pss_baseline.normalize_capability(cap) | some cap in values.list(object.get(c.container, ["securityContext", "capabilities", "drop"], [])); is_string(cap)}
	not "ALL" in drops
}

# CDG-K8S-025: only NET_BIND_SERVICE may be added back (others within the
# baseline set; capabilities outside it are CDG-K8S-005).
deny contains {
	"msg": sprintf("%s: %s %q adds capability %s; only NET_BIND_SERVICE may be added", [context.resource, c.label, c.name, cap]),
	"rule_id": "CDG-K8S-025",
	"path": pods.field_path(c, ["securityContext", "capabilities", "add", k]),
} if {
	some c in pods.containers
	some k, cap in values.list(object.get(c.container, ["securityContext", "capabilities", "add"], []))
	is_string(cap)
	name := pss_baseline.normalize_capability(cap)
	pss_baseline.baseline_capabilities[name]
	name != "NET_BIND_SERVICE"
}

# CDG-K8S-026: volume types outside the restricted list (hostPath is CDG-K8S-003).
deny contains {
	"msg": sprintf("%s: volume %q uses the %s volume type; use configMap, secret, emptyDir, projected, downwardAPI, csi, ephemeral or persistentVolumeClaim", [context.resource, object.get(vol, "name", sprintf("#%d", [i])), source]),
	"rule_id": "CDG-K8S-026",
	"path": array.concat(pod.path, ["volumes", i, source]),
} if {
	some pod in pods.pod_specs
	some i, vol in values.list(object.get(pod.spec, "volumes", []))
	is_object(vol)
	some source, _ in vol
	not source in _volume_meta_keys
	not source in restricted_volume_types
	source != "hostPath"
}

# The container's own setting wins over the pod's.
_effective(c, field) := c.container.securityContext[field] if {
	_container_sets(c, field)
} else := c.pod.spec.securityContext[field] if {
	_pod_sets(c.pod, field)
} else := null

_container_sets(c, field) if not is_null(object.get(c.container, ["securityContext", field], null))

_pod_sets(pod, field) if not is_null(object.get(pod.spec, ["securityContext", field], null))
