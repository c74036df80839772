# Workloads belong in a namespace of their own: the `default` namespace has
# no quota, no default-deny network policy and no RBAC boundary by design,
# and everything applied without `-n` lands there. A resource without
# metadata.namespace is in "default" unless cdgate assigned it the
# destination namespace of the Argo CD Application that deploys it (or
# inputs.default_namespace), which it does before policies run.
package cdgate.k8s.default_namespace

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods

# CDG-K8S-094: a workload deployed to the default namespace.
deny contains {
	"msg": sprintf("%s: the workload is deployed to the \"default\" namespace%s; give it a namespace of its own (metadata.namespace, the Argo CD Application's destination.namespace or inputs.default_namespace)", [context.resource, _how]),
	"rule_id": "CDG-K8S-094",
	"path": ["metadata", "namespace"],
} if {
	pods.is_workload
	context.namespace_of(input) == "default"
}

_how := " (no metadata.namespace)" if {
	not _has_namespace
} else := ""

_has_namespace if {
	is_string(input.metadata.namespace)
	input.metadata.namespace != ""
}
