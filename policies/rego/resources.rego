# Resource requests and limits: without requests the scheduler cannot place
# pods sensibly and without a memory limit one container can exhaust its
# node. Ephemeral containers are skipped: the API does not let them set
# resources.
package cdgate.k8s.resources

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods

_sized_fields := {"containers", "initContainers"}

# CDG-K8S-040: CPU and memory requests.
deny contains {
	"msg": sprintf("%s: %s %q has no %s request; set resources.requests.%s", [context.resource, c.label, c.name, resource, resource]),
	"rule_id": "CDG-K8S-040",
	"path": pods.field_path(c, ["resources", "requests", resource]),
} if {
	some c in pods.containers
	c.field in _sized_fields
	some resource in ["cpu", "memory"]
	not _is_set(c.container, ["resources", "requests", resource])
	# A limit alone also sets the request to the same value.
	not _is_set(c.container, ["resources", "limits", resource])
}

# CDG-K8S-041: a memory limit.
deny contains {
	"msg": sprintf("%s: %s %q has no memory limit; set resources.limits.memory", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-041",
	"path": pods.field_path(c, ["resources", "limits", "memory"]),
} if {
	some c in pods.containers
	c.field in _sized_fields
	not _is_set(c.container, ["resources", "limits", "memory"])
}

# CDG-K8S-042: a CPU limit (advisory: CPU is throttled, not fatal, when exceeded).
warn contains {
	"msg": sprintf("%s: %s %q has no CPU limit; set resources.limits.cpu", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-042",
	"path": pods.field_path(c, ["resources", "limits", "cpu"]),
} if {
	some c in pods.containers
	c.field in _sized_fields
	not _is_set(c.container, ["resources", "limits", "cpu"])
}

_is_set(obj, path) if {
	value := object.get(obj, path, null)
	not is_null(value)
	value != ""
}
