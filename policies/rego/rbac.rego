# RBAC least privilege: wildcards grant every verb or resource that exists
# now and every one added later; cluster-admin bound to a workload's service
# account hands the whole cluster to whoever compromises that pod.
package cdgate.k8s.rbac

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.values

_is_role if {
	input.kind in {"Role", "ClusterRole"}
	startswith(input.apiVersion, "rbac.authorization.k8s.io/")
}

_is_binding if {
	input.kind in {"RoleBinding", "ClusterRoleBinding"}
	startswith(input.apiVersion, "rbac.authorization.k8s.io/")
}

_read_verbs := {"get", "list", "watch", "*"}

# CDG-K8S-110: wildcard verbs.
deny contains {
	"msg": sprintf("%s: rule %d grants every verb (\"*\"); list the verbs the subject needs", [context.resource, i]),
	"rule_id": "CDG-K8S-110",
	"path": ["rules", i, "verbs", j],
} if {
	_is_role
	some i, rule in values.list(input.rules)
	some j, verb in values.list(object.get(values.obj(rule), "verbs", []))
	verb == "*"
}

# CDG-K8S-111: wildcard resources or API groups.
deny contains {
	"msg": sprintf("%s: rule %d grants every %s (\"*\"); list the %s the subject needs", [context.resource, i, what, field]),
	"rule_id": "CDG-K8S-111",
	"path": ["rules", i, field, j],
} if {
	_is_role
	some i, rule in values.list(input.rules)
	some field, what in {"resources": "resource", "apiGroups": "API group"}
	some j, value in values.list(object.get(values.obj(rule), field, []))
	value == "*"
}

# CDG-K8S-112: cluster-admin bound to a service account.
deny contains {
	"msg": sprintf("%s: binds cluster-admin to service account %q; bind a role with only the permissions the workload needs", [context.resource, _subject_name(subject)]),
	"rule_id": "CDG-K8S-112",
	"path": ["subjects", k],
} if {
	_binds_cluster_admin
	some k, subject in values.list(input.subjects)
	subject.kind == "ServiceAccount"
}

# CDG-K8S-113: reading Secrets.
deny contains {
	"msg": sprintf("%s: rule %d lets the subject read Secrets (%s); grant access to named secrets with resourceNames, or none", [context.resource, i, concat(", ", sort([v | some v in values.list(rule.verbs); v in _read_verbs]))]),
	"rule_id": "CDG-K8S-113",
	"path": ["rules", i, "resources", j],
} if {
	_is_role
	some i, rule in values.list(input.rules)
	is_object(rule)
	some j, resource in values.list(object.get(rule, "resources", []))
	resource == "secrets"
	some verb in values.list(object.get(rule, "verbs", []))
	verb in _read_verbs
	count(values.list(object.get(rule, "resourceNames", []))) == 0
}

# CDG-K8S-114: cluster-admin bound to users or groups.
deny contains {
	"msg": sprintf("%s: binds cluster-admin to %s %q; bind a narrower role, or keep cluster-admin for break-glass access outside Git", [context.resource, lower(subject.kind), _subject_name(subject)]),
	"rule_id": "CDG-K8S-114",
	"path": ["subjects", k],
} if {
	_binds_cluster_admin
	some k, subject in values.list(input.subjects)
	subject.kind in {"User", "Group"}
}

_binds_cluster_admin if {
	_is_binding
	input.roleRef.kind == "ClusterRole"
	input.roleRef.name == "cluster-admin"
}

_subject_name(subject) := sprintf("%s/%s", [subject.namespace, subject.name]) if {
	is_string(subject.namespace)
} else := object.get(subject, "name", "(unnamed)")
