# HorizontalPodAutoscaler bounds: a maximum above the platform's cap can
# starve the cluster, a minimum above the maximum is rejected at sync time,
# and a minimum of one replica means no redundancy while scaled down.
package cdgate.k8s.autoscaling

import rego.v1

import data.cdgate.lib.context

_is_hpa if {
	input.kind == "HorizontalPodAutoscaler"
	startswith(input.apiVersion, "autoscaling/")
}

# CDG-K8S-100: maxReplicas above the platform cap (`hpa_max_replicas`).
deny contains {
	"msg": sprintf("%s: maxReplicas %v exceeds the platform cap of %v; lower spec.maxReplicas", [context.resource, input.spec.maxReplicas, cap]),
	"rule_id": "CDG-K8S-100",
	"path": ["spec", "maxReplicas"],
} if {
	_is_hpa
	cap := context.param("hpa_max_replicas", 50)
	is_number(input.spec.maxReplicas)
	input.spec.maxReplicas > cap
}

# CDG-K8S-101: minReplicas above maxReplicas.
deny contains {
	"msg": sprintf("%s: minReplicas %v is greater than maxReplicas %v; make minReplicas <= maxReplicas", [context.resource, input.spec.minReplicas, input.spec.maxReplicas]),
	"rule_id": "CDG-K8S-101",
	"path": ["spec", "minReplicas"],
} if {
	_is_hpa
	is_number(input.spec.minReplicas)
	is_number(input.spec.maxReplicas)
	input.spec.minReplicas > input.spec.maxReplicas
}

# CDG-K8S-102: fewer than two replicas at the low end (advisory).
warn contains {
	"msg": sprintf("%s: minReplicas is %v, so one pod failure is an outage; set spec.minReplicas to at least 2", [context.resource, lowest]),
	"rule_id": "CDG-K8S-102",
	"path": ["spec", "minReplicas"],
} if {
	_is_hpa
	lowest := object.get(input, ["spec", "minReplicas"], 1)
	is_number(lowest)
	lowest < 2
}
