# Availability across resources: a workload that asks for more than one
# replica wants to survive voluntary disruptions (node drains, cluster
# upgrades), which only a PodDisruptionBudget selecting its pods guarantees.
# Needs every document at once, hence `input_mode := "repo"`.
package cdgate.k8s.availability

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods
import data.cdgate.lib.selectors
import data.cdgate.lib.values

input_mode := "repo"

_replicated_kinds := {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}

_budgets contains {"namespace": context.namespace_of(obj), "selector": obj.spec.selector} if {
	some doc in values.list(input.documents)
	obj := doc.contents
	is_object(obj)
	obj.kind == "PodDisruptionBudget"
	is_object(obj.spec.selector)
}

# CDG-K8S-093: a PodDisruptionBudget for workloads with replicas > 1.
deny contains {
	"msg": sprintf("%s: runs %v replicas but no PodDisruptionBudget selects its pods; add a PodDisruptionBudget with a matching selector", [context.resource_of(obj), obj.spec.replicas]),
	"rule_id": "CDG-K8S-093",
	"document": doc.index,
	"path": ["spec", "replicas"],
} if {
	some doc in values.list(input.documents)
	obj := doc.contents
	is_object(obj)
	obj.kind in _replicated_kinds
	is_number(obj.spec.replicas)
	obj.spec.replicas > 1
	some pod in pods.pod_specs_of(obj)
	labels := values.obj(object.get(pod.meta, "labels", {}))
	not _protected(context.namespace_of(obj), labels)
}

_protected(ns, labels) if {
	some budget in _budgets
	budget.namespace == ns
	selectors.matches(budget.selector, labels)
}
