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

# CDG-K8S-071: a literal credential in a container's environment: a variable
# whose name says credential, set to a value that can be one. A name alone is
# not enough: `REDIS_PASSWORD_FILE=/opt/.../redis-password` is a path (the
# remediation itself), `ALLOW_EMPTY_PASSWORD=no` a switch, `TOKEN_TTL=3600` a
# number, `$(DB_PASSWORD)` a reference to another variable.
deny contains {
	"msg": sprintf("%s: %s %q sets %s to a literal value; read it from a Secret with valueFrom.secretKeyRef", [context.resource, c.label, c.name, var.name]),
	"rule_id": "CDG-K8S-071",
	"path": pods.field_path(c, ["env", k, "value"]),
} if {
	some c in pods.containers
	some k, var in values.list(object.get(c.container, "env", []))
	name := object.get(var, "name", null)
	value := object.get(var, "value", null)
	is_string(name)
	is_string(value)
	regex.match(credential_name_pattern, name)
	not regex.match(reference_name_pattern, name)
	not not_a_credential(value)
}

# Names that hold where a credential is, or whether one is used, not the credential.
reference_name_pattern := `(?i)(_FILE|_PATH|_DIR|_NAME|_KEY_REF|_ENABLED|_ENABLE|_REQUIRED|_TTL|_EXPIRY|_EXPIRES|_LENGTH|_HOST|_PORT|_USER|_USERNAME)$|^(ALLOW_|USE_|ENABLE_|DISABLE_|SKIP_)`

# Values that cannot be a credential.
not_a_credential(value) if trim_space(value) == ""

not_a_credential(value) if lower(trim_space(value)) in {"true", "false", "yes", "no", "on", "off", "y", "n", "none", "null", "enabled", "disabled"}

not_a_credential(value) if regex.match(`^-?[0-9]+(\.[0-9]+)?[smhd]?$`, trim_space(value))

not_a_credential(value) if regex.match(`^(/|\./|\.\./|~/)[^\s]*$`, trim_space(value))

not_a_credential(value) if regex.match(`^\$(\([A-Za-z_][A-Za-z0-9_]*\)|\{[A-Za-z_][A-Za-z0-9_]*\})$`, trim_space(value))
