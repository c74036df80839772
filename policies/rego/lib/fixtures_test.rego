# Shared test fixtures: a workload that passes every bundled rule, and
# helpers to break exactly one thing in it, for every pod-carrying kind.
# Holds no test_* rules itself.
package cdgate.lib.fixtures_test

import rego.v1


digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

probe := {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}

# A container that satisfies every per-container rule.
good_container := {
	"name": "app",
	"image": sprintf("ghcr.io/acme/app:1.4.2@%s", [digest]),
	"ports": [{"containerPort": 8080}],
	"securityContext": {
		"allowPrivilegeEscalation": false,
		"readOnlyRootFilesystem": true,
		"runAsNonRoot": true,
		"capabilities": {"drop": ["ALL"]},
		"seccompProfile": {"type": "RuntimeDefault"},
	},
	"resources": {
		"requests": {"cpu": "100m", "memory": "128Mi"},
		"limits": {"cpu": "500m", "memory": "256Mi"},
	},
	"livenessProbe": probe,
	"readinessProbe": probe,
}

# An init/ephemeral container: the same without probes (the API forbids them).
good_helper := object.remove(object.union(good_container, {"name": "helper"}), ["livenessProbe", "readinessProbe", "ports"])

good_pod_spec := {
	"serviceAccountName": "web",
	"automountServiceAccountToken": false,
	"securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [good_container],
	"volumes": [{"name": "tmp", "emptyDir": {}}],
}

# container(patch): the good container with `patch` deep-merged in.
container(patch) := object.union(good_container, patch)

# pod(patch): the good pod spec with `patch` deep-merged in (lists are replaced).
pod(patch) := object.union(good_pod_spec, patch)

# pod_with(field, c): the good pod spec whose `field` list is [c] (with the
# good main container kept when field is not "containers").
pod_with("containers", c) := object.union(good_pod_spec, {"containers": [c]})

pod_with(field, c) := object.union(good_pod_spec, {field: [c]}) if field != "containers"

# helper(patch): the good init/ephemeral container with `patch` merged in.
helper(patch) := object.union(good_helper, patch)

meta := {"name": "web", "namespace": "shop", "labels": {"app": "web"}}

template(spec) := {"metadata": {"labels": {"app": "web"}}, "spec": spec}

# workload(kind, spec): a resource of `kind` whose pod spec is `spec`.
workload("Pod", spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

workload("PodTemplate", spec) := {"apiVersion": "v1", "kind": "PodTemplate", "metadata": meta, "template": template(spec)}

workload("Deployment", spec) := _controller("apps/v1", "Deployment", spec)

workload("StatefulSet", spec) := _controller("apps/v1", "StatefulSet", spec)

workload("DaemonSet", spec) := _controller("apps/v1", "DaemonSet", spec)

workload("ReplicaSet", spec) := _controller("apps/v1", "ReplicaSet", spec)

workload("ReplicationController", spec) := _controller("v1", "ReplicationController", spec)

workload("Job", spec) := {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": template(spec)}}

workload("CronJob", spec) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": meta,
	"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template(spec)}}},
}

_controller(api, kind, spec) := {
	"apiVersion": api,
	"kind": kind,
	"metadata": meta,
	"spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template(spec)},
}

deployment(spec) := workload("Deployment", spec)

cronjob(spec) := workload("CronJob", spec)

# path(kind, suffix): the JSON path of `suffix` below the pod spec of `kind`.
# (A full data reference, not the `pods` import: regorus 0.13 loses import
# aliases inside a function called from another module once a rule of this
# module has been evaluated.)
path(kind, suffix) := array.concat(data.cdgate.lib.pods.spec_prefix[kind], suffix)

all_kinds := ["Pod", "PodTemplate", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]

# has(results, id, p): some result has rule id `id` and path `p`.
has(results, id, p) if {
	some result in results
	result.rule_id == id
	result.path == p
}

# ids(results): the rule ids among `results`.
ids(results) := {result.rule_id | some result in results}

# none_of(results, id): no result has rule id `id`.
none_of(results, id) if not id in ids(results)

# mentions(results, id, text): some result of rule `id` has `text` in its message.
mentions(results, id, text) if {
	some result in results
	result.rule_id == id
	contains(result.msg, text)
}
