# Service account hygiene: most workloads never call the Kubernetes API, so
# a mounted token is only useful to an attacker; and the namespace's
# `default` service account collects permissions nobody meant for this pod.
package cdgate.k8s.service_accounts

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods

# CDG-K8S-080: service account token automount must be off.
deny contains {
	"msg": sprintf("%s: pod mounts a service account token; set automountServiceAccountToken to false (mount a projected token where the API is really needed)", [context.resource]),
	"rule_id": "CDG-K8S-080",
	"path": array.concat(pod.path, ["automountServiceAccountToken"]),
} if {
	some pod in pods.pod_specs
	object.get(pod.spec, "automountServiceAccountToken", true) != false
}

# CDG-K8S-081: a dedicated service account, not `default`.
deny contains {
	"msg": sprintf("%s: pod runs as the namespace's default service account; create a ServiceAccount for this workload and set serviceAccountName", [context.resource]),
	"rule_id": "CDG-K8S-081",
	"path": array.concat(pod.path, ["serviceAccountName"]),
} if {
	some pod in pods.pod_specs
	_service_account(pod.spec) == "default"
}

# serviceAccount is the deprecated spelling of serviceAccountName.
_service_account(spec) := spec.serviceAccountName if {
	is_string(spec.serviceAccountName)
	spec.serviceAccountName != ""
} else := spec.serviceAccount if {
	is_string(spec.serviceAccount)
	spec.serviceAccount != ""
} else := "default"
