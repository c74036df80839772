# Liveness and readiness probes for long-running workloads: without them a
# hung process keeps receiving traffic and is never restarted. Jobs and
# CronJobs run to completion, and init/ephemeral containers cannot have
# these probes, so only the `containers` of long-running kinds are checked.
package cdgate.k8s.probes

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods

_probes := {
	"livenessProbe": {"rule_id": "CDG-K8S-050", "what": "liveness"},
	"readinessProbe": {"rule_id": "CDG-K8S-051", "what": "readiness"},
}

# CDG-K8S-050 (liveness) and CDG-K8S-051 (readiness).
deny contains {
	"msg": sprintf("%s: %s %q has no %s probe; add %s", [context.resource, c.label, c.name, probe.what, field]),
	"rule_id": probe.rule_id,
	"path": pods.field_path(c, [field]),
} if {
	input.kind in pods.long_running_kinds
	some c in pods.containers
	c.field == "containers"
	some field, probe in _probes
	not _has_object(c.container, field)
}

# Written as a helper, not `not is_object(c.container[field])`: real OPA
# evaluates a reference passed to a function before the negation, so with
# the field missing that expression is undefined (the rule never fires),
# while regorus says true. See docs/policy-conventions.md.
_has_object(obj, key) if is_object(obj[key])
