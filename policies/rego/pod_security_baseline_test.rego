package cdgate.k8s.pss_baseline_test

import rego.v1

import data.cdgate.k8s.pss_baseline
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := pss_baseline.deny with input as obj
}

test_compliant_workloads_of_every_kind_pass if {
	every kind in fx.all_kinds {
		count(deny_for(fx.workload(kind, fx.good_pod_spec))) == 0
	}
}

# CDG-K8S-001 privileged

test_privileged_container_denied_in_every_kind if {
	every kind in fx.all_kinds {
		spec := fx.pod_with("containers", fx.container({"securityContext": {"privileged": true}}))
		fx.has(deny_for(fx.workload(kind, spec)), "CDG-K8S-001", fx.path(kind, ["containers", 0, "securityContext", "privileged"]))
	}
}

test_privileged_init_container_in_cronjob_points_at_field if {
	spec := fx.pod_with("initContainers", fx.helper({"securityContext": {"privileged": true}}))
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-001", ["spec", "jobTemplate", "spec", "template", "spec", "initContainers", 0, "securityContext", "privileged"])
	fx.mentions(results, "CDG-K8S-001", "init container \"helper\"")
}

test_privileged_ephemeral_container_denied if {
	spec := fx.pod_with("ephemeralContainers", fx.helper({"securityContext": {"privileged": true}}))
	fx.has(deny_for(fx.workload("Pod", spec)), "CDG-K8S-001", ["spec", "ephemeralContainers", 0, "securityContext", "privileged"])
}

test_privileged_false_allowed if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"privileged": false}}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-001")
}

# CDG-K8S-002 host namespaces

test_host_namespaces_denied_each_field if {
	every field in ["hostNetwork", "hostPID", "hostIPC"] {
		results := deny_for(fx.deployment(fx.pod({field: true})))
		fx.has(results, "CDG-K8S-002", ["spec", "template", "spec", field])
	}
}

test_host_network_in_cronjob_denied if {
	fx.has(deny_for(fx.cronjob(fx.pod({"hostNetwork": true}))), "CDG-K8S-002", fx.path("CronJob", ["hostNetwork"]))
}

test_host_namespaces_false_allowed if {
	fx.none_of(deny_for(fx.deployment(fx.pod({"hostNetwork": false, "hostPID": false, "hostIPC": false}))), "CDG-K8S-002")
}

# CDG-K8S-003 hostPath

test_host_path_volume_denied if {
	spec := fx.pod({"volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]})
	results := deny_for(fx.deployment(spec))
	fx.has(results, "CDG-K8S-003", ["spec", "template", "spec", "volumes", 1, "hostPath"])
	fx.mentions(results, "CDG-K8S-003", "/var/run/docker.sock")
}

test_host_path_in_cronjob_denied if {
	spec := fx.pod({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]})
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-003", fx.path("CronJob", ["volumes", 0, "hostPath"]))
}

test_empty_dir_volume_allowed if {
	fx.none_of(deny_for(fx.deployment(fx.good_pod_spec)), "CDG-K8S-003")
}

# CDG-K8S-004 hostPort

test_host_port_denied if {
	spec := fx.pod_with("containers", fx.container({"ports": [{"containerPort": 8080, "hostPort": 8080}]}))
	fx.has(deny_for(fx.deployment(spec)), "CDG-K8S-004", fx.path("Deployment", ["containers", 0, "ports", 0, "hostPort"]))
}

test_host_port_in_init_container_of_cronjob_denied if {
	spec := fx.pod_with("initContainers", fx.helper({"ports": [{"containerPort": 53, "hostPort": 53}]}))
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-004", fx.path("CronJob", ["initContainers", 0, "ports", 0, "hostPort"]))
}

test_host_port_zero_allowed if {
	spec := fx.pod_with("containers", fx.container({"ports": [{"containerPort": 8080, "hostPort": 0}]}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-004")
}

# CDG-K8S-005 capabilities beyond baseline

test_sys_admin_capability_denied if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}}}))
	results := deny_for(fx.deployment(spec))
	fx.has(results, "CDG-K8S-005", fx.path("Deployment", ["containers", 0, "securityContext", "capabilities", "add", 1]))
	not fx.has(results, "CDG-K8S-005", fx.path("Deployment", ["containers", 0, "securityContext", "capabilities", "add", 0]))
}

test_cap_prefixed_lowercase_capability_denied if {
	spec := fx.pod_with("ephemeralContainers", fx.helper({"securityContext": {"capabilities": {"add": ["cap_net_admin"]}}}))
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-005", fx.path("CronJob", ["ephemeralContainers", 0, "securityContext", "capabilities", "add", 0]))
}

test_baseline_capabilities_allowed if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE", "CAP_KILL"]}}}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-005")
}

# CDG-K8S-006 procMount

test_unmasked_proc_mount_denied if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"procMount": "Unmasked"}}))
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-006", fx.path("CronJob", ["containers", 0, "securityContext", "procMount"]))
}

test_default_proc_mount_allowed if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"procMount": "Default"}}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-006")
}

# Gatekeeper's psp-proc-mount sample: a null procMount is unset (regorus failed on it in sprintf %q).
test_null_proc_mount_allowed if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"procMount": null}}))
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-006")
}

# CDG-K8S-007 sysctls

test_unsafe_sysctl_denied if {
	spec := fx.pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}, {"name": "kernel.msgmax", "value": "65536"}]}})
	results := deny_for(fx.deployment(spec))
	fx.has(results, "CDG-K8S-007", fx.path("Deployment", ["securityContext", "sysctls", 1, "name"]))
	count([r | some r in results; r.rule_id == "CDG-K8S-007"]) == 1
}

test_sysctl_allow_list_comes_from_params if {
	spec := fx.pod({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]}})
	results := deny_for(fx.cronjob(spec)) with data.cdgate_params.allowed_sysctls as ["kernel.msgmax"]
	fx.none_of(results, "CDG-K8S-007")
}

test_safe_sysctl_allowed if {
	spec := fx.pod({"securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}]}})
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-007")
}

# CDG-K8S-008 AppArmor

test_apparmor_unconfined_annotation_denied if {
	obj := json.patch(fx.deployment(fx.good_pod_spec), [{
		"op": "add",
		"path": "/spec/template/metadata/annotations",
		"value": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"},
	}])
	fx.has(deny_for(obj), "CDG-K8S-008", ["spec", "template", "metadata", "annotations", "container.apparmor.security.beta.kubernetes.io/app"])
}

test_apparmor_annotation_on_pod_metadata if {
	obj := json.patch(fx.workload("Pod", fx.good_pod_spec), [{
		"op": "add",
		"path": "/metadata/annotations",
		"value": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"},
	}])
	fx.has(deny_for(obj), "CDG-K8S-008", ["metadata", "annotations", "container.apparmor.security.beta.kubernetes.io/app"])
}

test_apparmor_unconfined_security_context_denied if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}))
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-008", fx.path("CronJob", ["containers", 0, "securityContext", "appArmorProfile", "type"]))
	pod_level := fx.pod({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}})
	fx.has(deny_for(fx.deployment(pod_level)), "CDG-K8S-008", fx.path("Deployment", ["securityContext", "appArmorProfile", "type"]))
}

test_apparmor_runtime_default_allowed if {
	obj := json.patch(fx.deployment(fx.pod({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}})), [{
		"op": "add",
		"path": "/spec/template/metadata/annotations",
		"value": {
			"container.apparmor.security.beta.kubernetes.io/app": "localhost/k8s-app",
			"container.apparmor.security.beta.kubernetes.io/other": "runtime/default",
			"container.apparmor.security.beta.kubernetes.io/third": "",
		},
	}])
	fx.none_of(deny_for(obj), "CDG-K8S-008")
}

# CDG-K8S-009 SELinux

test_selinux_privileged_type_denied if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}))
	fx.has(deny_for(fx.deployment(spec)), "CDG-K8S-009", fx.path("Deployment", ["containers", 0, "securityContext", "seLinuxOptions", "type"]))
}

test_selinux_custom_user_and_role_denied if {
	spec := fx.pod({"securityContext": {"seLinuxOptions": {"user": "system_u", "role": "system_r", "level": "s0:c123,c456"}}})
	results := deny_for(fx.cronjob(spec))
	fx.has(results, "CDG-K8S-009", fx.path("CronJob", ["securityContext", "seLinuxOptions", "user"]))
	fx.has(results, "CDG-K8S-009", fx.path("CronJob", ["securityContext", "seLinuxOptions", "role"]))
	not fx.has(results, "CDG-K8S-009", fx.path("CronJob", ["securityContext", "seLinuxOptions", "level"]))
}

test_selinux_container_type_and_level_allowed if {
	spec := fx.pod({"securityContext": {"seLinuxOptions": {"type": "container_t", "level": "s0:c123,c456"}}})
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-009")
}

# CDG-K8S-010 seccomp Unconfined

test_seccomp_unconfined_denied_at_both_levels if {
	spec := fx.pod({
		"securityContext": {"seccompProfile": {"type": "Unconfined"}},
		"containers": [fx.container({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})],
	})
	results := deny_for(fx.deployment(spec))
	fx.has(results, "CDG-K8S-010", fx.path("Deployment", ["securityContext", "seccompProfile", "type"]))
	fx.has(results, "CDG-K8S-010", fx.path("Deployment", ["containers", 0, "securityContext", "seccompProfile", "type"]))
}

test_seccomp_runtime_default_allowed if {
	fx.none_of(deny_for(fx.cronjob(fx.good_pod_spec)), "CDG-K8S-010")
}

# CDG-K8S-011 Windows HostProcess

test_windows_host_process_denied if {
	spec := fx.pod_with("containers", fx.container({"securityContext": {"windowsOptions": {"hostProcess": true}}}))
	fx.has(deny_for(fx.workload("DaemonSet", spec)), "CDG-K8S-011", fx.path("DaemonSet", ["containers", 0, "securityContext", "windowsOptions", "hostProcess"]))
	pod_level := fx.pod({"securityContext": {"windowsOptions": {"hostProcess": true}}})
	fx.has(deny_for(fx.cronjob(pod_level)), "CDG-K8S-011", fx.path("CronJob", ["securityContext", "windowsOptions", "hostProcess"]))
}

test_windows_host_process_false_allowed if {
	spec := fx.pod({"securityContext": {"windowsOptions": {"hostProcess": false}}})
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-011")
}

test_non_workload_kinds_ignored if {
	count(deny_for({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"spec": "privileged"}})) == 0
	count(deny_for({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"containers": [{"name": "x", "securityContext": {"privileged": true}}]}})) == 0
}
