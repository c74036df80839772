package cdgate.k8s.default_namespace_test

import rego.v1

import data.cdgate.k8s.default_namespace
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := default_namespace.deny with input as obj
}

with_namespace(obj, ns) := object.union(obj, {"metadata": {"namespace": ns}})

test_workload_without_namespace_denied_in_every_kind if {
	every kind in fx.all_kinds {
		obj := json.remove(fx.workload(kind, fx.good_pod_spec), ["metadata/namespace"])
		results := deny_for(obj)
		fx.has(results, "CDG-K8S-094", ["metadata", "namespace"])
		fx.mentions(results, "CDG-K8S-094", "no metadata.namespace")
	}
}

test_explicit_default_namespace_denied if {
	results := deny_for(with_namespace(fx.deployment(fx.good_pod_spec), "default"))
	fx.has(results, "CDG-K8S-094", ["metadata", "namespace"])
	count(results) == 1
}

test_own_namespace_allowed if {
	count(deny_for(with_namespace(fx.deployment(fx.good_pod_spec), "shop"))) == 0
}

test_non_workloads_in_default_allowed if {
	count(deny_for({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})) == 0
	count(deny_for({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}})) == 0
}
