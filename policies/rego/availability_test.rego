package cdgate.k8s.availability_test

import rego.v1

import data.cdgate.k8s.availability
import data.cdgate.lib.fixtures_test as fx

repo(objects) := {"documents": [{"index": i, "path": sprintf("manifests/%d.yaml", [i]), "contents": obj} | some i, obj in objects]}

deny_for(objects) := results if {
	results := availability.deny with input as repo(objects)
}

scaled(kind, replicas) := json.patch(fx.workload(kind, fx.good_pod_spec), [{"op": "replace", "path": "/spec/replicas", "value": replicas}])

pdb(ns, selector) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": {"name": "web", "namespace": ns},
	"spec": {"minAvailable": 1, "selector": selector},
}

test_declares_repo_input_mode if {
	availability.input_mode == "repo"
}

test_replicated_workload_without_pdb_denied if {
	results := deny_for([fx.cronjob(fx.good_pod_spec), scaled("Deployment", 3)])
	some r in results
	r.rule_id == "CDG-K8S-093"
	r.document == 1
	r.path == ["spec", "replicas"]
	contains(r.msg, "Deployment/shop/web")
}

test_every_replicated_kind_checked if {
	every kind in ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"] {
		fx.ids(deny_for([scaled(kind, 2)])) == {"CDG-K8S-093"}
	}
}

test_matching_pdb_satisfies if {
	count(deny_for([scaled("Deployment", 3), pdb("shop", {"matchLabels": {"app": "web"}})])) == 0
}

test_pdb_with_match_expressions_satisfies if {
	selector := {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}, {"key": "canary", "operator": "DoesNotExist"}]}
	count(deny_for([scaled("StatefulSet", 3), pdb("shop", selector)])) == 0
}

test_pdb_selecting_other_pods_does_not_count if {
	fx.ids(deny_for([scaled("Deployment", 3), pdb("shop", {"matchLabels": {"app": "api"}})])) == {"CDG-K8S-093"}
	selector := {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
	fx.ids(deny_for([scaled("Deployment", 3), pdb("shop", selector)])) == {"CDG-K8S-093"}
}

test_pdb_in_other_namespace_does_not_count if {
	fx.ids(deny_for([scaled("Deployment", 3), pdb("billing", {"matchLabels": {"app": "web"}})])) == {"CDG-K8S-093"}
}

test_single_replica_needs_no_pdb if {
	count(deny_for([scaled("Deployment", 1)])) == 0
	count(deny_for([fx.deployment(fx.good_pod_spec)])) == 0
}

test_malformed_documents_do_not_abort_evaluation if {
	objects := [
		null,
		{"kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "shop"}, "spec": {"selector": "x"}},
		{"kind": "PodDisruptionBudget", "metadata": {"name": "q", "namespace": "shop"}, "spec": {"selector": {"matchLabels": "x", "matchExpressions": [{"key": "app", "operator": "In", "values": "x"}]}}},
		json.patch(scaled("Deployment", 3), [{"op": "replace", "path": "/spec/template/metadata", "value": "x"}]),
		scaled("Deployment", "3"),
	]
	results := deny_for(objects)
	some r in results
	r.document == 3
	count(results) == 1
}
