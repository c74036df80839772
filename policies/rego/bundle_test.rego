# Tests across the whole bundle: a hardened workload is clean under every
# per-document package (with and without an environment), and the classic
# mistakes are each caught by the rule meant for them.
package cdgate.bundle_test

import rego.v1

import data.cdgate.lib.fixtures_test as fx

per_document_packages := ["pss_baseline", "pss_restricted", "hardening", "resources", "probes", "images", "secrets", "service_accounts", "autoscaling", "rbac", "ingress"]

# Every per-document deny/warn rule of the bundle, named one by one: the
# engine evaluates rules, never whole packages.
all_results := {r |
	some results in [
		data.cdgate.k8s.pss_baseline.deny,
		data.cdgate.k8s.pss_restricted.deny,
		data.cdgate.k8s.hardening.deny,
		data.cdgate.k8s.resources.deny,
		data.cdgate.k8s.resources.warn,
		data.cdgate.k8s.probes.deny,
		data.cdgate.k8s.images.deny,
		data.cdgate.k8s.secrets.deny,
		data.cdgate.k8s.service_accounts.deny,
		data.cdgate.k8s.autoscaling.deny,
		data.cdgate.k8s.autoscaling.warn,
		data.cdgate.k8s.rbac.deny,
		data.cdgate.k8s.ingress.deny,
		data.cdgate.argocd.deny,
	]
	some r in results
}

results_for(obj, env) := results if {
	results := all_results with input as obj with data.cdgate_context as {"environment": env}
}

test_per_document_packages_do_not_declare_repo_mode if {
	every name in per_document_packages {
		not data.cdgate.k8s[name].input_mode
	}
}

test_hardened_workloads_are_clean_everywhere if {
	every kind in fx.all_kinds {
		count(results_for(fx.workload(kind, fx.good_pod_spec), "prod")) == 0
		count(results_for(fx.workload(kind, fx.good_pod_spec), null)) == 0
	}
}

test_every_result_has_msg_rule_id_and_path if {
	bad := fx.deployment(fx.pod({
		"hostNetwork": true,
		"containers": [{"name": "app", "image": "nginx:latest", "securityContext": {"privileged": true}}],
	}))
	results := results_for(bad, "prod")
	count(results) > 10
	every r in results {
		is_string(r.msg)
		regex.match(`^CDG-[A-Z0-9]+-[0-9]{3}$`, r.rule_id)
		is_array(r.path)
		count(r.path) > 0
	}
}

test_classic_mistakes_each_caught_at_their_field if {
	bad := fx.deployment(fx.pod({
		"hostNetwork": true,
		"containers": [fx.container({"image": "nginx:latest", "securityContext": {"privileged": true}})],
	}))
	results := results_for(bad, null)
	fx.has(results, "CDG-K8S-001", ["spec", "template", "spec", "containers", 0, "securityContext", "privileged"])
	fx.has(results, "CDG-K8S-002", ["spec", "template", "spec", "hostNetwork"])
	fx.has(results, "CDG-K8S-060", ["spec", "template", "spec", "containers", 0, "image"])
	wildcard := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "all"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
	fx.has(results_for(wildcard, null), "CDG-K8S-110", ["rules", 0, "verbs", 0])
	admin := {
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind": "ClusterRoleBinding",
		"metadata": {"name": "ci"},
		"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
		"subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "ci"}],
	}
	fx.has(results_for(admin, null), "CDG-K8S-112", ["subjects", 0])
}

test_unknown_kinds_and_crds_evaluate_cleanly if {
	count(results_for({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}, "prod")) == 0
	count(results_for({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}, "prod")) == 0
}

# Malformed shapes read as empty instead of aborting the whole evaluation.
test_malformed_fields_do_not_abort_evaluation if {
	every obj in [
		{"kind": "Deployment", "metadata": {"name": "broken"}, "spec": "not an object"},
		{"kind": "Deployment", "metadata": "x", "spec": {"template": {"metadata": "x", "spec": {"containers": "x", "volumes": "x", "securityContext": {"sysctls": "x", "seLinuxOptions": "x"}}}}},
		{"kind": "Pod", "metadata": {"name": "p", "annotations": "x"}, "spec": {"containers": [null, 3, {"name": "c", "ports": "x", "env": "x", "securityContext": {"capabilities": {"add": "x", "drop": "x"}, "seLinuxOptions": "x"}}], "volumes": [null, "x"]}},
		{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}, "spec": "x"},
		{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}, "spec": {"tls": [null, {"hosts": "x"}], "rules": "x"}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}, "rules": "x"},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}, "rules": [null, {"verbs": "x", "resources": 3}]},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": "x"},
		{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"}, "spec": "x"},
		{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"}, "spec": "x"},
		{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": "x"},
	] {
		is_set(results_for(obj, "prod"))
	}
}
