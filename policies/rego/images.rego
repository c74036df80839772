# Image references: every deployment must say exactly what it runs. A
# `:latest` or missing tag changes under the cluster's feet; in the
# environments named by `require_digest_environments` only a digest
# (`@sha256:...`) is immutable; `allowed_registries`, when not empty, limits
# where images may come from.
package cdgate.k8s.images

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods
import data.cdgate.lib.values

# parse(ref) splits an image reference into registry, repository, tag and digest.
# Docker Hub is the registry when the first component is not a host name.
parse(ref) := {"registry": registry, "repository": repository, "tag": tag, "digest": digest} if {
	name_and_tag := split(ref, "@")[0]
	digest := _digest(ref)
	parts := split(name_and_tag, "/")
	registry := _registry(parts)
	last := parts[count(parts) - 1]
	tag := _tag(last)
	untagged := trim_suffix(name_and_tag, sprintf(":%s", [tag]))
	repository := _repository(untagged, parts)
}

_repository(untagged, parts) := trim_prefix(untagged, sprintf("%s/", [parts[0]])) if {
	count(parts) > 1
	_is_host(parts[0])
} else := untagged

_digest(ref) := split(ref, "@")[1] if {
	contains(ref, "@")
} else := ""

_registry(parts) := parts[0] if {
	count(parts) > 1
	_is_host(parts[0])
} else := "docker.io"

_is_host(part) if contains(part, ".")

_is_host(part) if contains(part, ":")

_is_host(part) if part == "localhost"

_tag(last) := split(last, ":")[1] if {
	contains(last, ":")
} else := ""

images contains {"c": c, "image": ref, "ref": parse(ref)} if {
	some c in pods.containers
	ref := c.container.image
	is_string(ref)
}

# CDG-K8S-060: the mutable `latest` tag.
deny contains {
	"msg": sprintf("%s: %s %q uses image %q with the mutable latest tag; pin a version tag or digest", [context.resource, img.c.label, img.c.name, img.image]),
	"rule_id": "CDG-K8S-060",
	"path": pods.field_path(img.c, ["image"]),
} if {
	some img in images
	img.ref.tag == "latest"
	img.ref.digest == ""
}

# CDG-K8S-061: no tag and no digest (Kubernetes pulls latest).
deny contains {
	"msg": sprintf("%s: %s %q uses image %q without a tag (it pulls latest); pin a version tag or digest", [context.resource, img.c.label, img.c.name, img.image]),
	"rule_id": "CDG-K8S-061",
	"path": pods.field_path(img.c, ["image"]),
} if {
	some img in images
	img.ref.tag == ""
	img.ref.digest == ""
}

# CDG-K8S-062: digest pinning in the environments that require it.
deny contains {
	"msg": sprintf("%s: %s %q uses image %q without a digest, which %s requires; pin it as image@sha256:<digest>", [context.resource, img.c.label, img.c.name, img.image, env]),
	"rule_id": "CDG-K8S-062",
	"path": pods.field_path(img.c, ["image"]),
} if {
	env := context.environment
	env in values.list(context.param("require_digest_environments", ["prod"]))
	some img in images
	not startswith(img.ref.digest, "sha256:")
}

# CDG-K8S-063: registries outside the allow-list.
deny contains {
	"msg": sprintf("%s: %s %q pulls %q from registry %q, which is not allowed; use one of %v", [context.resource, img.c.label, img.c.name, img.image, img.ref.registry, allowed]),
	"rule_id": "CDG-K8S-063",
	"path": pods.field_path(img.c, ["image"]),
} if {
	allowed := context.param("allowed_registries", [])
	count(values.list(allowed)) > 0
	some img in images
	not _registry_allowed(img.ref, allowed)
}

# An entry allows a registry (`ghcr.io`) or a registry path prefix (`ghcr.io/acme`).
_registry_allowed(ref, allowed) if ref.registry in allowed

_registry_allowed(ref, allowed) if {
	some prefix in values.list(allowed)
	is_string(prefix)
	contains(prefix, "/")
	startswith(sprintf("%s/%s", [ref.registry, ref.repository]), sprintf("%s/", [trim_suffix(prefix, "/")]))
}
