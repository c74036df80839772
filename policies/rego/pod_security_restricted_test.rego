package cdgate.k8s.pss_restricted_test

import rego.v1

import data.cdgate.k8s.pss_restricted
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := pss_restricted.deny with input as obj
}

test_compliant_workloads_of_every_kind_pass if {
	every kind in fx.all_kinds {
		count(deny_for(fx.workload(kind, fx.good_pod_spec))) == 0
	}
}

test_compliant_init_and_ephemeral_containers_pass if {
	spec := fx.pod({"initContainers": [fx.good_helper], "ephemeralContainers": [fx.good_helper]})
	count(deny_for(fx.cronjob(spec))) == 0
}

# CDG-K8S-020 allowPrivilegeEscalation

test_privilege_escalation_unset_denied_in_every_kind if {
	every kind in fx.all_kinds {
		c := object.remove(fx.good_container, ["securityContext"])
		results := deny_for(fx.workload(kind, fx.pod_with("containers", c)))
		fx.has(results, "CDG-K8S-020", fx.path(kind, ["containers", 0, "securityContext", "allowPrivilegeEscalation"]))
	}
}

test_privilege_escalation_true_in_init_container_denied if {
	spec := fx.pod_with("initContainers", fx.helper({"securityContext": {"allowPrivilegeEscalation": true}}))
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-020", fx.path("CronJob", ["initContainers", 0, "securityContext", "allowPrivilegeEscalation"]))
	fx.mentions(results, "CDG-K8S-020", "init container \"helper\"")
}

test_privilege_escalation_false_allowed if {
	fx.none_of(deny_for(fx.deployment(fx.good_pod_spec)), "CDG-K8S-020")
}

# CDG-K8S-021 runAsNonRoot

test_run_as_non_root_missing_everywhere_points_at_container if {
	c := json.remove(fx.good_container, ["securityContext/runAsNonRoot"])
	spec := json.remove(fx.pod_with("containers", c), ["securityContext/runAsNonRoot"])
	fx.has(deny_for(fx.deployment(spec)), "CDG-K8S-021", fx.path("Deployment", ["containers", 0, "securityContext", "runAsNonRoot"]))
}

test_run_as_non_root_set_at_pod_level_is_enough if {
	c := json.remove(fx.good_container, ["securityContext/runAsNonRoot"])
	fx.none_of(deny_for(fx.cronjob(fx.pod_with("containers", c))), "CDG-K8S-021")
}

test_run_as_non_root_container_false_overrides_pod if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"runAsNonRoot": false}}))
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-021", fx.path("CronJob", ["containers", 0, "securityContext", "runAsNonRoot"]))
}

test_run_as_non_root_pod_false_points_at_pod_field if {
	c := json.remove(fx.good_container, ["securityContext/runAsNonRoot"])
	spec := fx.pod({"securityContext": {"runAsNonRoot": false}, "containers": [c]})
	fx.has(deny_for(fx.deployment(spec)), "CDG-K8S-021", fx.path("Deployment", ["securityContext", "runAsNonRoot"]))
}

test_run_as_non_root_checked_for_ephemeral_containers if {
	spec := fx.pod_with("ephemeralContainers", fx.helper({"securityContext": {"runAsNonRoot": false}}))
	fx.has(deny_for(fx.workload("Pod", spec)), "CDG-K8S-021", ["spec", "ephemeralContainers", 0, "securityContext", "runAsNonRoot"])
}

# CDG-K8S-022 runAsUser 0

test_run_as_user_root_denied_at_pod_and_container if {
	spec := fx.pod({"securityContext": {"runAsUser": 0}, "containers": [fx.container({"securityContext": {"runAsUser": 0}})]})
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-022", fx.path("CronJob", ["securityContext", "runAsUser"]))
	fx.has(results, "CDG-K8S-022", fx.path("CronJob", ["containers", 0, "securityContext", "runAsUser"]))
}

test_run_as_user_non_zero_allowed if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"runAsUser": 1000}}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-022")
}

# CDG-K8S-023 seccomp profile set

test_seccomp_unset_everywhere_denied if {
	c := json.remove(fx.good_container, ["securityContext/seccompProfile"])
	spec := json.remove(fx.pod_with("containers", c), ["securityContext/seccompProfile"])
	fx.has(deny_for(fx.workload("StatefulSet", spec)), "CDG-K8S-023", fx.path("StatefulSet", ["containers", 0, "securityContext", "seccompProfile", "type"]))
}

test_seccomp_pod_level_is_enough if {
	c := json.remove(fx.good_container, ["securityContext/seccompProfile"])
	fx.none_of(deny_for(fx.cronjob(fx.pod_with("containers", c))), "CDG-K8S-023")
}

test_seccomp_container_level_is_enough if {
	spec := json.remove(fx.good_pod_spec, ["securityContext/seccompProfile"])
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-023")
}

test_seccomp_unknown_type_denied_but_unconfined_left_to_baseline if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"seccompProfile": {"type": "Bogus"}}}))
	fx.has(deny_for(fx.deployment(spec)), "CDG-K8S-023", fx.path("Deployment", ["containers", 0, "securityContext", "seccompProfile", "type"]))
	unconfined := fx.pod_with("containers", fx.container({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}))
	fx.none_of(deny_for(fx.deployment(unconfined)), "CDG-K8S-023")
}

# CDG-K8S-024 drop ALL

test_capabilities_not_dropped_denied if {
	c := json.remove(fx.good_container, ["securityContext/capabilities"])
	fx.has(deny_for(fx.cronjob(fx.pod_with("containers", c))), "CDG-K8S-024", fx.path("CronJob", ["containers", 0, "securityContext", "capabilities", "drop"]))
}

test_dropping_some_capabilities_is_not_enough if {
	spec := fx.pod_with("containers", json.patch(fx.good_container, [{"op": "replace", "path": "/securityContext/capabilities/drop", "value": ["NET_RAW", "SYS_ADMIN"]}]))
	fx.has(deny_for(fx.deployment(spec)), "CDG-K8S-024", fx.path("Deployment", ["containers", 0, "securityContext", "capabilities", "drop"]))
}

test_drop_all_lowercase_allowed if {
	spec := fx.pod_with("containers", json.patch(fx.good_container, [{"op": "replace", "path": "/securityContext/capabilities/drop", "value": ["all"]}]))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-024")
}

# CDG-K8S-025 only NET_BIND_SERVICE may be added

test_adding_baseline_capability_denied_at_restricted if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}}}))
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-025", fx.path("CronJob", ["containers", 0, "securityContext", "capabilities", "add", 1]))
	not fx.has(results, "CDG-K8S-025", fx.path("CronJob", ["containers", 0, "securityContext", "capabilities", "add", 0]))
}

test_capability_outside_baseline_left_to_baseline_rule if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-025")
}

# CDG-K8S-026 volume types

test_nfs_volume_denied if {
	spec := fx.pod({"volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "share", "nfs": {"server": "nfs.local", "path": "/exports"}}]})
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-026", fx.path("CronJob", ["volumes", 1, "nfs"]))
	fx.mentions(results, "CDG-K8S-026", "\"share\"")
}

test_allowed_volume_types_pass if {
	spec := fx.pod({"volumes": [
		{"name": "a", "configMap": {"name": "cm"}},
		{"name": "b", "secret": {"secretName": "s"}},
		{"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
		{"name": "d", "projected": {"sources": []}},
		{"name": "e", "downwardAPI": {"items": []}},
		{"name": "f", "csi": {"driver": "x"}},
		{"name": "g", "ephemeral": {"volumeClaimTemplate": {}}},
		{"name": "h", "emptyDir": {}},
	]})
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-026")
}

test_host_path_left_to_baseline_rule if {
	spec := fx.pod({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]})
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-026")
}
