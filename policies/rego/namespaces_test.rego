package cdgate.k8s.namespaces_test

import rego.v1

import data.cdgate.k8s.namespaces
import data.cdgate.lib.fixtures_test as fx

repo(objects) := {"documents": [{"index": i, "path": sprintf("manifests/%d.yaml", [i]), "contents": obj} | some i, obj in objects]}

deny_for(objects) := results if {
	results := namespaces.deny with input as repo(objects)
}

warn_for(objects) := results if {
	results := namespaces.warn with input as repo(objects)
}

ns_obj(name) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}

quota(ns) := {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns}, "spec": {"hard": {"requests.cpu": "10"}}}

deny_all(ns, types) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "default-deny", "namespace": ns},
	"spec": {"podSelector": {}, "policyTypes": types},
}

in_ns(obj, ns) := json.patch(obj, [{"op": "replace", "path": "/metadata/namespace", "value": ns}])

test_declares_repo_input_mode if {
	namespaces.input_mode == "repo"
}

test_guarded_namespace_passes if {
	objects := [fx.deployment(fx.good_pod_spec), quota("shop"), deny_all("shop", ["Ingress", "Egress"])]
	count(deny_for(objects)) == 0
	count(warn_for(objects)) == 0
}

test_missing_quota_points_at_first_workload if {
	objects := [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}}, fx.deployment(fx.good_pod_spec), fx.cronjob(fx.good_pod_spec), deny_all("shop", ["Ingress", "Egress"])]
	results := deny_for(objects)
	some r in results
	r.rule_id == "CDG-K8S-090"
	r.document == 1
	r.path == ["metadata", "namespace"]
	count(results) == 1
}

test_missing_quota_points_at_namespace_object_when_present if {
	objects := [fx.deployment(fx.good_pod_spec), deny_all("shop", ["Ingress", "Egress"]), ns_obj("shop")]
	results := deny_for(objects)
	some r in results
	r.rule_id == "CDG-K8S-090"
	r.document == 2
	r.path == ["metadata", "name"]
}

test_quota_in_another_namespace_does_not_count if {
	objects := [fx.deployment(fx.good_pod_spec), quota("other"), deny_all("shop", ["Ingress", "Egress"])]
	fx.mentions(deny_for(objects), "CDG-K8S-090", "\"shop\"")
}

test_missing_default_deny_ingress_denied if {
	objects := [fx.cronjob(fx.good_pod_spec), quota("shop")]
	results := deny_for(objects)
	fx.ids(results) == {"CDG-K8S-091"}
	fx.has(warn_for(objects), "CDG-K8S-092", ["metadata", "namespace"])
}

test_policy_selecting_some_pods_is_not_default_deny if {
	partial := json.patch(deny_all("shop", ["Ingress"]), [{"op": "replace", "path": "/spec/podSelector", "value": {"matchLabels": {"app": "web"}}}])
	fx.mentions(deny_for([fx.deployment(fx.good_pod_spec), quota("shop"), partial]), "CDG-K8S-091", "\"shop\"")
}

test_policy_allowing_ingress_is_not_default_deny if {
	allow := json.patch(deny_all("shop", ["Ingress"]), [{"op": "add", "path": "/spec/ingress", "value": [{"from": [{"podSelector": {}}]}]}])
	fx.has(deny_for([fx.deployment(fx.good_pod_spec), quota("shop"), allow]), "CDG-K8S-091", ["metadata", "namespace"])
}

test_policy_types_default_to_ingress if {
	implicit := json.remove(deny_all("shop", []), ["spec/policyTypes"])
	objects := [fx.deployment(fx.good_pod_spec), quota("shop"), implicit]
	fx.none_of(deny_for(objects), "CDG-K8S-091")
	fx.has(warn_for(objects), "CDG-K8S-092", ["metadata", "namespace"])
}

test_resources_without_namespace_count_as_default if {
	workload := json.remove(fx.deployment(fx.good_pod_spec), ["metadata/namespace"])
	fx.mentions(deny_for([workload, quota("shop")]), "CDG-K8S-090", "\"default\"")
	count(deny_for([workload, quota("default"), deny_all("default", ["Ingress"])])) == 0
}

test_each_namespace_reported_once if {
	objects := [
		fx.deployment(fx.good_pod_spec),
		in_ns(fx.deployment(fx.good_pod_spec), "billing"),
		in_ns(fx.cronjob(fx.good_pod_spec), "billing"),
		quota("shop"),
		deny_all("shop", ["Ingress"]),
	]
	results := deny_for(objects)
	count({r | some r in results; r.rule_id == "CDG-K8S-090"}) == 1
	fx.mentions(results, "CDG-K8S-090", "\"billing\"")
	some r in results
	r.rule_id == "CDG-K8S-091"
	r.document == 1
}

test_exempt_namespaces_skipped if {
	count(deny_for([in_ns(fx.workload("DaemonSet", fx.good_pod_spec), "kube-system")])) == 0
}

test_namespaces_without_workloads_need_nothing if {
	count(deny_for([ns_obj("empty"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "empty"}}])) == 0
}

test_malformed_documents_do_not_abort_evaluation if {
	objects := [
		null,
		"text",
		{"kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "shop"}, "spec": "x"},
		{"kind": "NetworkPolicy", "metadata": {"name": "np2", "namespace": "shop"}, "spec": {"podSelector": "x", "ingress": "x"}},
		{"kind": "Namespace", "metadata": "x"},
		fx.deployment(fx.good_pod_spec),
	]
	results := deny_for(objects)
	fx.ids(results) == {"CDG-K8S-090", "CDG-K8S-091"}
	count(namespaces.deny) == 0 with input as {"documents": "x"}
}
