package cdgate.k8s.probes_test

import rego.v1

import data.cdgate.k8s.probes
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := probes.deny with input as obj
}

test_probed_long_running_workloads_pass if {
	every kind in ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"] {
		count(deny_for(fx.workload(kind, fx.good_pod_spec))) == 0
	}
}

test_missing_liveness_probe_denied if {
	c := object.remove(fx.good_container, ["livenessProbe"])
	results := deny_for(fx.deployment(fx.pod_with("containers", c)))
	fx.has(results, "CDG-K8S-050", fx.path("Deployment", ["containers", 0, "livenessProbe"]))
	fx.none_of(results, "CDG-K8S-051")
}

test_missing_readiness_probe_denied if {
	c := object.remove(fx.good_container, ["readinessProbe"])
	results := deny_for(fx.workload("StatefulSet", fx.pod_with("containers", c)))
	fx.has(results, "CDG-K8S-051", fx.path("StatefulSet", ["containers", 0, "readinessProbe"]))
	fx.none_of(results, "CDG-K8S-050")
}

test_every_long_running_kind_checked if {
	every kind in ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"] {
		c := object.remove(fx.good_container, ["livenessProbe", "readinessProbe"])
		fx.ids(deny_for(fx.workload(kind, fx.pod_with("containers", c)))) == {"CDG-K8S-050", "CDG-K8S-051"}
	}
}

test_second_container_reported_by_index if {
	c := object.remove(object.union(fx.good_container, {"name": "sidecar"}), ["readinessProbe"])
	results := deny_for(fx.deployment(fx.pod({"containers": [fx.good_container, c]})))
	fx.has(results, "CDG-K8S-051", fx.path("Deployment", ["containers", 1, "readinessProbe"]))
	fx.mentions(results, "CDG-K8S-051", "\"sidecar\"")
}

test_jobs_and_cronjobs_need_no_probes if {
	c := object.remove(fx.good_container, ["livenessProbe", "readinessProbe"])
	count(deny_for(fx.cronjob(fx.pod_with("containers", c)))) == 0
	count(deny_for(fx.workload("Job", fx.pod_with("containers", c)))) == 0
}

test_init_containers_need_no_probes if {
	count(deny_for(fx.deployment(fx.pod({"initContainers": [fx.good_helper]})))) == 0
}
