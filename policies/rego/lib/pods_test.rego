package cdgate.lib.pods_test

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.fixtures_test as fx
import data.cdgate.lib.pods
import data.cdgate.lib.selectors

test_pod_spec_path_per_kind if {
	every kind in fx.all_kinds {
		specs := pods.pod_specs with input as fx.workload(kind, fx.good_pod_spec)
		count(specs) == 1
		some entry in specs
		entry.path == pods.spec_prefix[kind]
		entry.spec == fx.good_pod_spec
	}
}

test_pod_template_metadata_path if {
	some entry in pods.pod_specs_of(fx.cronjob(fx.good_pod_spec))
	entry.meta_path == ["spec", "jobTemplate", "spec", "template", "metadata"]
	entry.meta.labels.app == "web"
	some pod_entry in pods.pod_specs_of(fx.workload("Pod", fx.good_pod_spec))
	pod_entry.meta_path == ["metadata"]
}

test_every_container_list_with_its_path if {
	spec := fx.pod({"initContainers": [fx.good_helper], "ephemeralContainers": [fx.helper({"name": "debug"})]})
	found := {[c.field, c.name, c.label, c.path] | some c in pods.containers_of(fx.cronjob(spec))}
	found == {
		["containers", "app", "container", fx.path("CronJob", ["containers", 0])],
		["initContainers", "helper", "init container", fx.path("CronJob", ["initContainers", 0])],
		["ephemeralContainers", "debug", "ephemeral container", fx.path("CronJob", ["ephemeralContainers", 0])],
	}
}

test_malformed_containers_are_skipped_not_fatal if {
	spec := {"containers": [null, "text", {"name": "ok"}]}
	found := {c.index | some c in pods.containers_of(fx.deployment(spec))}
	found == {2}
}

test_non_workloads_have_no_pod_specs if {
	count(pods.pod_specs_of({"kind": "ConfigMap", "data": {}})) == 0
	count(pods.pod_specs_of({"kind": "Deployment"})) == 0
}

test_resource_names if {
	context.resource_of(fx.deployment(fx.good_pod_spec)) == "Deployment/shop/web"
	context.resource_of({"kind": "ClusterRole", "metadata": {"name": "x"}}) == "ClusterRole/x"
	context.resource_of({"kind": "Pod"}) == "Pod/(unnamed)"
}

test_environment_defaults_to_null if {
	context.environment == null
	context.environment == "prod" with data.cdgate_context as {"environment": "prod"}
}

test_param_reads_bundled_defaults if {
	"prod" in context.param("require_digest_environments", [])
	context.param("no_such_param", 42) == 42
}

test_selectors if {
	selectors.matches({}, {"app": "web"})
	selectors.matches({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "front"})
	not selectors.matches({"matchLabels": {"app": "web", "tier": "back"}}, {"app": "web", "tier": "front"})
	selectors.matches({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"tier": "front"})
	not selectors.matches({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {"app": "web"})
	selectors.matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]}, {"app": "web"})
	not selectors.matches({"matchExpressions": [{"key": "x", "operator": "Bogus", "values": []}]}, {"x": "1"})
	selectors.selects_all({})
	not selectors.selects_all({"matchLabels": {"a": "b"}})
}
