# Pod specs and containers of any workload, each with the JSON path to it.
#
# Every pod-spec rule in cdgate iterates `pod_specs` or `containers` from this
# package instead of reading `input.spec.containers` itself, so a rule written
# once covers Pods, every pod controller and every container list, and its
# `path` points at the exact field in whichever shape the resource has.
package cdgate.lib.pods

import rego.v1

# Where the pod spec lives, per kind.
spec_prefix := {
	"Pod": ["spec"],
	"PodTemplate": ["template", "spec"],
	"Deployment": ["spec", "template", "spec"],
	"StatefulSet": ["spec", "template", "spec"],
	"DaemonSet": ["spec", "template", "spec"],
	"ReplicaSet": ["spec", "template", "spec"],
	"ReplicationController": ["spec", "template", "spec"],
	"Job": ["spec", "template", "spec"],
	"CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

# Kinds whose pods run until stopped (probes make sense for them, not for Jobs).
long_running_kinds := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}

container_fields := ["containers", "initContainers", "ephemeralContainers"]

# Human-readable name of each container list, for messages.
container_label := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}

# is_workload is true when the input carries a pod spec.
is_workload if spec_prefix[input.kind]

# pod_specs_of(obj) is the set of {"spec", "path", "meta", "meta_path"} for a
# resource: its pod spec, the path to it, and the pod template's metadata.
pod_specs_of(obj) := {entry |
	prefix := spec_prefix[obj.kind]
	spec := object.get(obj, prefix, null)
	is_object(spec)
	meta_path := array.concat(array.slice(prefix, 0, count(prefix) - 1), ["metadata"])
	entry := {
		"spec": spec,
		"path": prefix,
		"meta": _obj(object.get(obj, meta_path, {})),
		"meta_path": meta_path,
	}
}

# containers_of(obj) is the set of {"container", "name", "field", "label",
# "index", "path", "pod"} for every container of every list in the resource.
containers_of(obj) := {entry |
	some pod in pod_specs_of(obj)
	some field in container_fields
	some i, c in _list(object.get(pod.spec, field, []))
	is_object(c)
	entry := {
		"container": c,
		"name": object.get(c, "name", sprintf("#%d", [i])),
		"field": field,
		"label": container_label[field],
		"index": i,
		"path": array.concat(pod.path, [field, i]),
		"pod": pod,
	}
}

pod_specs := pod_specs_of(input)

containers := containers_of(input)

# (Local copies of cdgate.lib.values guards: this package is the base of all
# others and imports nothing.)
_list(v) := v if {
	is_array(v)
} else := []

_obj(v) := v if {
	is_object(v)
} else := {}

# field_path(c, suffix) is the path of a field below container entry `c`.
field_path(c, suffix) := array.concat(c.path, suffix)
