package cdgate.k8s.rbac_test

import rego.v1

import data.cdgate.k8s.rbac
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := rbac.deny with input as obj
}

role(kind, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "app", "namespace": "shop"}, "rules": rules}

binding(kind, role_name, subjects) := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": kind,
	"metadata": {"name": "app"},
	"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
	"subjects": subjects,
}

test_least_privilege_role_passes if {
	obj := role("Role", [
		{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
		{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["app-tls"], "verbs": ["get"]},
	])
	count(deny_for(obj)) == 0
}

test_wildcard_verbs_denied if {
	obj := role("ClusterRole", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "*"]}])
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-110", ["rules", 0, "verbs", 1])
	fx.ids(results) == {"CDG-K8S-110"}
}

test_wildcard_resources_and_api_groups_denied if {
	obj := role("Role", [
		{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
		{"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]},
	])
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-111", ["rules", 1, "resources", 0])
	fx.has(results, "CDG-K8S-111", ["rules", 1, "apiGroups", 0])
	fx.none_of(results, "CDG-K8S-110")
}

test_cluster_admin_bound_to_service_account_denied if {
	obj := binding("ClusterRoleBinding", "cluster-admin", [
		{"kind": "Group", "name": "platform-admins", "apiGroup": "rbac.authorization.k8s.io"},
		{"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
	])
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-112", ["subjects", 1])
	fx.mentions(results, "CDG-K8S-112", "ci/deployer")
	fx.has(results, "CDG-K8S-114", ["subjects", 0])
}

test_cluster_admin_in_role_binding_denied if {
	obj := binding("RoleBinding", "cluster-admin", [{"kind": "ServiceAccount", "name": "app"}])
	fx.has(deny_for(obj), "CDG-K8S-112", ["subjects", 0])
}

test_cluster_admin_bound_to_user_denied if {
	obj := binding("ClusterRoleBinding", "cluster-admin", [{"kind": "User", "name": "alice@example.com", "apiGroup": "rbac.authorization.k8s.io"}])
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-114", ["subjects", 0])
	fx.none_of(results, "CDG-K8S-112")
}

test_narrow_cluster_role_binding_allowed if {
	obj := binding("ClusterRoleBinding", "view", [{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}])
	count(deny_for(obj)) == 0
}

test_reading_all_secrets_denied if {
	obj := role("Role", [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["list", "watch"]}])
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-113", ["rules", 0, "resources", 1])
	fx.mentions(results, "CDG-K8S-113", "list, watch")
}

test_writing_secrets_without_read_not_reported_as_read if {
	obj := role("Role", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}])
	fx.none_of(deny_for(obj), "CDG-K8S-113")
}

test_non_rbac_kinds_ignored if {
	count(deny_for({"apiVersion": "example.com/v1", "kind": "Role", "rules": [{"verbs": ["*"]}]})) == 0
}
