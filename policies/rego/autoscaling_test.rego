package cdgate.k8s.autoscaling_test

import rego.v1

import data.cdgate.k8s.autoscaling
import data.cdgate.lib.fixtures_test as fx

hpa(spec) := {
	"apiVersion": "autoscaling/v2",
	"kind": "HorizontalPodAutoscaler",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": object.union({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}, spec),
}

deny_for(obj) := results if {
	results := autoscaling.deny with input as obj
}

warn_for(obj) := results if {
	results := autoscaling.warn with input as obj
}

test_bounded_hpa_passes if {
	obj := hpa({"minReplicas": 2, "maxReplicas": 10})
	count(deny_for(obj)) == 0
	count(warn_for(obj)) == 0
}

test_max_replicas_above_cap_denied if {
	results := deny_for(hpa({"minReplicas": 2, "maxReplicas": 500}))
	fx.has(results, "CDG-K8S-100", ["spec", "maxReplicas"])
	fx.mentions(results, "CDG-K8S-100", "500")
}

test_max_replicas_cap_comes_from_params if {
	obj := hpa({"minReplicas": 2, "maxReplicas": 20})
	fx.has(deny_for(obj), "CDG-K8S-100", ["spec", "maxReplicas"]) with data.cdgate_params.hpa_max_replicas as 10
	fx.none_of(deny_for(obj), "CDG-K8S-100")
}

test_min_above_max_denied if {
	fx.has(deny_for(hpa({"minReplicas": 8, "maxReplicas": 4})), "CDG-K8S-101", ["spec", "minReplicas"])
	fx.none_of(deny_for(hpa({"minReplicas": 4, "maxReplicas": 4})), "CDG-K8S-101")
}

test_single_replica_minimum_warns if {
	fx.has(warn_for(hpa({"minReplicas": 1, "maxReplicas": 4})), "CDG-K8S-102", ["spec", "minReplicas"])
	fx.has(warn_for(hpa({"maxReplicas": 4})), "CDG-K8S-102", ["spec", "minReplicas"])
	count(deny_for(hpa({"maxReplicas": 4}))) == 0
}

test_other_kinds_ignored if {
	count(deny_for(fx.deployment(fx.good_pod_spec))) == 0
	count(warn_for({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "spec": {"minReplicaCount": 0}})) == 0
}
