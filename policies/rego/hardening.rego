# Container hardening beyond the Pod Security Standards (NSA/CISA Kubernetes
# Hardening Guide, CIS Kubernetes Benchmark 5.7): an immutable root filesystem
# stops an attacker from dropping tools or rewriting binaries in place.
package cdgate.k8s.hardening

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods

# CDG-K8S-030: the root filesystem must be read-only.
deny contains {
	"msg": sprintf("%s: %s %q has a writable root filesystem; set securityContext.readOnlyRootFilesystem to true and mount an emptyDir where it must write", [context.resource, c.label, c.name]),
	"rule_id": "CDG-K8S-030",
	"path": pods.field_path(c, ["securityContext", "readOnlyRootFilesystem"]),
} if {
	some c in pods.containers
	object.get(c.container, ["securityContext", "readOnlyRootFilesystem"], false) != true
}
