package cdgate.k8s.images_test

import rego.v1

import data.cdgate.k8s.images
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := images.deny with input as obj
}

deny_in(obj, env) := results if {
	results := images.deny with input as obj with data.cdgate_context as {"environment": env}
}

with_image(image) := fx.pod_with("containers", fx.container({"image": image}))

test_parse_image_references if {
	images.parse("nginx") == {"registry": "docker.io", "repository": "nginx", "tag": "", "digest": ""}
	images.parse("library/nginx:1.27") == {"registry": "docker.io", "repository": "library/nginx", "tag": "1.27", "digest": ""}
	images.parse("ghcr.io/acme/app:latest") == {"registry": "ghcr.io", "repository": "acme/app", "tag": "latest", "digest": ""}
	images.parse("localhost:5000/team/app:1.2@sha256:abc") == {"registry": "localhost:5000", "repository": "team/app", "tag": "1.2", "digest": "sha256:abc"}
	images.parse("registry.local:5000/app") == {"registry": "registry.local:5000", "repository": "app", "tag": "", "digest": ""}
}

test_pinned_image_passes_in_every_kind_and_prod if {
	every kind in fx.all_kinds {
		count(deny_in(fx.workload(kind, fx.good_pod_spec), "prod")) == 0
	}
}

# CDG-K8S-060 latest

test_latest_tag_denied if {
	results := deny_for(fx.deployment(with_image("ghcr.io/acme/app:latest")))
	fx.has(results, "CDG-K8S-060", fx.path("Deployment", ["containers", 0, "image"]))
	fx.mentions(results, "CDG-K8S-060", "ghcr.io/acme/app:latest")
	fx.none_of(results, "CDG-K8S-061")
}

test_latest_tag_in_cronjob_init_container_denied if {
	spec := fx.pod_with("initContainers", fx.helper({"image": "busybox:latest"}))
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-060", fx.path("CronJob", ["initContainers", 0, "image"]))
}

test_latest_tag_pinned_by_digest_allowed if {
	fx.none_of(deny_for(fx.deployment(with_image(sprintf("app:latest@%s", [fx.digest])))), "CDG-K8S-060")
}

test_version_tag_allowed if {
	fx.none_of(deny_for(fx.deployment(with_image("ghcr.io/acme/app:1.4.2"))), "CDG-K8S-060")
}

# CDG-K8S-061 untagged

test_untagged_image_denied if {
	results := deny_for(fx.workload("DaemonSet", with_image("nginx")))
	fx.has(results, "CDG-K8S-061", fx.path("DaemonSet", ["containers", 0, "image"]))
}

test_registry_port_is_not_a_tag if {
	spec := fx.pod_with("ephemeralContainers", fx.helper({"image": "registry.local:5000/debug"}))
	fx.has(deny_for(fx.workload("Pod", spec)), "CDG-K8S-061", ["spec", "ephemeralContainers", 0, "image"])
}

test_digest_only_image_is_not_untagged if {
	fx.none_of(deny_for(fx.deployment(with_image(sprintf("ghcr.io/acme/app@%s", [fx.digest])))), "CDG-K8S-061")
}

# CDG-K8S-062 digest pinning in prod

test_tag_without_digest_denied_in_prod if {
	results := deny_in(fx.deployment(with_image("ghcr.io/acme/app:1.4.2")), "prod")
	fx.has(results, "CDG-K8S-062", fx.path("Deployment", ["containers", 0, "image"]))
	fx.mentions(results, "CDG-K8S-062", "prod")
}

test_tag_without_digest_allowed_in_dev_and_without_env if {
	obj := fx.deployment(with_image("ghcr.io/acme/app:1.4.2"))
	fx.none_of(deny_in(obj, "dev"), "CDG-K8S-062")
	fx.none_of(deny_for(obj), "CDG-K8S-062")
}

test_digest_environments_come_from_params if {
	obj := fx.cronjob(with_image("ghcr.io/acme/app:1.4.2"))
	results := deny_in(obj, "staging") with data.cdgate_params.require_digest_environments as ["staging", "prod"]
	fx.has(results, "CDG-K8S-062", fx.path("CronJob", ["containers", 0, "image"]))
}

# CDG-K8S-063 registry allow-list

test_registry_outside_allow_list_denied if {
	obj := fx.deployment(with_image(sprintf("docker.io/library/nginx:1.27@%s", [fx.digest])))
	results := deny_for(obj) with data.cdgate_params.allowed_registries as ["ghcr.io/acme", "registry.acme.internal"]
	fx.has(results, "CDG-K8S-063", fx.path("Deployment", ["containers", 0, "image"]))
	fx.mentions(results, "CDG-K8S-063", "\"docker.io\"")
}

test_registry_prefix_must_match_whole_path_segment if {
	obj := fx.cronjob(with_image("ghcr.io/acme-evil/app:1.0"))
	results := deny_for(obj) with data.cdgate_params.allowed_registries as ["ghcr.io/acme"]
	fx.has(results, "CDG-K8S-063", fx.path("CronJob", ["containers", 0, "image"]))
}

test_allowed_registries_pass if {
	obj := fx.deployment(fx.pod({"containers": [fx.good_container, fx.container({"name": "b", "image": "registry.acme.internal/tools/b:2.0"})]}))
	results := deny_for(obj) with data.cdgate_params.allowed_registries as ["ghcr.io/acme", "registry.acme.internal"]
	fx.none_of(results, "CDG-K8S-063")
}

test_empty_allow_list_allows_any_registry if {
	fx.none_of(deny_for(fx.deployment(with_image("quay.io/x/y:1.0"))), "CDG-K8S-063")
}
