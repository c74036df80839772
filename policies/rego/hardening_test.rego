package cdgate.k8s.hardening_test

import rego.v1

import data.cdgate.k8s.hardening
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := hardening.deny with input as obj
}

test_read_only_root_filesystem_passes if {
	every kind in fx.all_kinds {
		count(deny_for(fx.workload(kind, fx.good_pod_spec))) == 0
	}
}

test_writable_root_filesystem_denied_in_every_kind if {
	every kind in fx.all_kinds {
		c := json.remove(fx.good_container, ["securityContext/readOnlyRootFilesystem"])
		fx.has(deny_for(fx.workload(kind, fx.pod_with("containers", c))), "CDG-K8S-030", fx.path(kind, ["containers", 0, "securityContext", "readOnlyRootFilesystem"]))
	}
}

test_read_only_false_in_init_container_of_cronjob_denied if {
	spec := fx.pod_with("initContainers", fx.helper({"securityContext": {"readOnlyRootFilesystem": false}}))
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-030", fx.path("CronJob", ["initContainers", 0, "securityContext", "readOnlyRootFilesystem"]))
	count(results) == 1
}

test_read_only_checked_for_ephemeral_containers if {
	c := object.remove(fx.good_helper, ["securityContext"])
	fx.has(deny_for(fx.workload("Pod", fx.pod_with("ephemeralContainers", c))), "CDG-K8S-030", ["spec", "ephemeralContainers", 0, "securityContext", "readOnlyRootFilesystem"])
}
