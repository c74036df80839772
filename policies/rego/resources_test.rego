package cdgate.k8s.resources_test

import rego.v1

import data.cdgate.k8s.resources
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := resources.deny with input as obj
}

warn_for(obj) := results if {
	results := resources.warn with input as obj
}

test_sized_containers_pass if {
	every kind in fx.all_kinds {
		obj := fx.workload(kind, fx.pod({"initContainers": [fx.good_helper]}))
		count(deny_for(obj)) == 0
		count(warn_for(obj)) == 0
	}
}

test_missing_requests_denied_per_resource if {
	c := json.remove(fx.good_container, ["resources/requests/cpu", "resources/limits/cpu"])
	results := deny_for(fx.deployment(fx.pod_with("containers", c)))
	fx.has(results, "CDG-K8S-040", fx.path("Deployment", ["containers", 0, "resources", "requests", "cpu"]))
	not fx.has(results, "CDG-K8S-040", fx.path("Deployment", ["containers", 0, "resources", "requests", "memory"]))
}

test_no_resources_in_cronjob_init_container_denied if {
	c := object.remove(fx.good_helper, ["resources"])
	results := deny_for(fx.cronjob(fx.pod_with("initContainers", c)))
	fx.has(results, "CDG-K8S-040", fx.path("CronJob", ["initContainers", 0, "resources", "requests", "cpu"]))
	fx.has(results, "CDG-K8S-040", fx.path("CronJob", ["initContainers", 0, "resources", "requests", "memory"]))
	fx.has(results, "CDG-K8S-041", fx.path("CronJob", ["initContainers", 0, "resources", "limits", "memory"]))
}

test_limit_alone_counts_as_request if {
	c := json.remove(fx.good_container, ["resources/requests"])
	fx.none_of(deny_for(fx.deployment(fx.pod_with("containers", c))), "CDG-K8S-040")
}

test_missing_memory_limit_denied if {
	c := json.remove(fx.good_container, ["resources/limits/memory"])
	results := deny_for(fx.workload("StatefulSet", fx.pod_with("containers", c)))
	fx.has(results, "CDG-K8S-041", fx.path("StatefulSet", ["containers", 0, "resources", "limits", "memory"]))
	fx.mentions(results, "CDG-K8S-041", "container \"app\" has no memory limit")
}

test_missing_cpu_limit_is_a_warning_not_a_denial if {
	c := json.remove(fx.good_container, ["resources/limits/cpu"])
	obj := fx.deployment(fx.pod_with("containers", c))
	fx.has(warn_for(obj), "CDG-K8S-042", fx.path("Deployment", ["containers", 0, "resources", "limits", "cpu"]))
	fx.none_of(deny_for(obj), "CDG-K8S-042")
}

test_ephemeral_containers_are_not_sized if {
	c := object.remove(fx.good_helper, ["resources"])
	obj := fx.workload("Pod", fx.pod_with("ephemeralContainers", c))
	count(deny_for(obj)) == 0
	count(warn_for(obj)) == 0
}
