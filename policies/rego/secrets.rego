# Secrets do not belong in Git in plain text. A `Secret` manifest in a CD
# repo holds base64, which is encoding, not encryption: commit a
# SealedSecret, an ExternalSecret or a reference to a secret store instead.
# Literal credentials in container `env` are the same leak in another place.
package cdgate.k8s.secrets

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.pods
import data.cdgate.lib.values

# Environment variable names that usually carry a credential.
credential_name_pattern := `(?i)(passw(or)?d|passwd|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key)`

# CDG-K8S-070: a plaintext Secret object.
deny contains {
	"msg": sprintf("%s: a Secret with %s is committed in plain text (base64 is not encryption); replace it with a SealedSecret or ExternalSecret", [context.resource, field]),
	"rule_id": "CDG-K8S-070",
	"path": [field],
} if {
	input.kind == "Secret"
	input.apiVersion == "v1"
	some field in ["data", "stringData"]
	count(values.obj(object.get(input, field, {}))) > 0
}

# CDG-K8S-071: a literal credential in a container's environment.
deny contains {
	"msg": sprintf("%s: %s %q sets %s to a literal value; read it from a Secret with valueFrom.secretKeyRef", [context.resource, c.label, c.name, var.name]),
	"rule_id": "CDG-K8S-071",
	"path": pods.field_path(c, ["env", k, "value"]),
} if {
	some c in pods.containers
	some k, var in values.list(object.get(c.container, "env", []))
	is_string(var.name)
	regex.match(credential_name_pattern, var.name)
	is_string(var.value)
	var.value != ""
}
