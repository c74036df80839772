# Per-namespace guard rails, checked across the whole repo: every namespace
# that runs workloads needs a ResourceQuota (so one team cannot exhaust the
# cluster) and a default-deny NetworkPolicy (so only traffic someone allowed
# flows). These need all documents at once, hence `input_mode := "repo"`.
#
# A resource without metadata.namespace is counted in "default", where it
# lands when applied without `-n`. Namespaces in `exempt_namespaces` are
# skipped. Each finding points at the Namespace object when the repo has
# one, else at the namespace's first workload.
package cdgate.k8s.namespaces

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods
import data.cdgate.lib.selectors
import data.cdgate.lib.values

input_mode := "repo"

_exempt := {ns | some ns in values.list(context.param("exempt_namespaces", ["kube-system", "kube-public", "kube-node-lease"]))}

_objects contains {"index": doc.index, "obj": doc.contents} if {
	some doc in values.list(input.documents)
	is_object(doc.contents)
	is_string(doc.contents.kind)
}

_workloads contains {"index": o.index, "namespace": context.namespace_of(o.obj)} if {
	some o in _objects
	pods.spec_prefix[o.obj.kind]
}

workload_namespaces := {w.namespace | some w in _workloads} - _exempt

_quota_namespaces contains context.namespace_of(o.obj) if {
	some o in _objects
	o.obj.kind == "ResourceQuota"
}

_denied_namespaces(type) := {context.namespace_of(o.obj) |
	some o in _objects
	o.obj.kind == "NetworkPolicy"
	is_object(o.obj.spec)
	_default_deny(o.obj.spec, type)
}

# A NetworkPolicy is default-deny for `type` when it selects every pod,
# applies to `type` and allows nothing for it.
# Computed once per evaluation (a function call per namespace would scan
# every object again for each namespace).
_denied_ingress := _denied_namespaces("Ingress")

_denied_egress := _denied_namespaces("Egress")

_default_deny(spec, type) if {
	selectors.selects_all(object.get(spec, "podSelector", {}))
	type in _policy_types(spec)
	count(values.list(object.get(spec, lower(type), []))) == 0
}

# policyTypes defaults to Ingress, plus Egress when egress rules are present.
_policy_types(spec) := spec.policyTypes if {
	is_array(spec.policyTypes)
} else := ["Ingress", "Egress"] if {
	count(values.list(object.get(spec, "egress", []))) > 0
} else := ["Ingress"]

# anchor(ns): the document and field a namespace-level finding points at.
anchor(ns) := {"document": min(named), "path": ["metadata", "name"]} if {
	named := {o.index |
		some o in _objects
		o.obj.kind == "Namespace"
		o.obj.metadata.name == ns
	}
	count(named) > 0
} else := {"document": min({w.index | some w in _workloads; w.namespace == ns}), "path": ["metadata", "namespace"]}

# CDG-K8S-090: a ResourceQuota per namespace.
deny contains {
	"msg": sprintf("namespace %q runs workloads but has no ResourceQuota; add a ResourceQuota to the namespace", [ns]),
	"rule_id": "CDG-K8S-090",
	"document": where.document,
	"path": where.path,
} if {
	some ns in workload_namespaces
	not ns in _quota_namespaces
	where := anchor(ns)
}

# CDG-K8S-091: a default-deny ingress NetworkPolicy per namespace.
deny contains {
	"msg": sprintf("namespace %q has no default-deny ingress NetworkPolicy; add one with podSelector: {} and policyTypes: [Ingress], then allow the traffic you need", [ns]),
	"rule_id": "CDG-K8S-091",
	"document": where.document,
	"path": where.path,
} if {
	some ns in workload_namespaces
	not ns in _denied_ingress
	where := anchor(ns)
}

# CDG-K8S-092: a default-deny egress NetworkPolicy per namespace (advisory).
warn contains {
	"msg": sprintf("namespace %q has no default-deny egress NetworkPolicy; add one with podSelector: {} and policyTypes: [Egress], then allow DNS and the destinations you need", [ns]),
	"rule_id": "CDG-K8S-092",
	"document": where.document,
	"path": where.path,
} if {
	some ns in workload_namespaces
	not ns in _denied_egress
	where := anchor(ns)
}
