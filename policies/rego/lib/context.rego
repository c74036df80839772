# What every policy needs besides the resource: its display name, the
# environment under check and the parameters from gate.yaml.
package cdgate.lib.context

import rego.v1

# environment is `--env` (data.cdgate_context.environment), or null.
default environment := null

environment := data.cdgate_context.environment

# param(name, fallback) reads data.cdgate_params[name]; the fallback keeps a
# policy meaningful when it is evaluated without cdgate's bundled params.json.
# (Reading data.cdgate_params[name] directly: `object.get(data, ...)` would
# materialise the whole data document, every policy's rules included.)
param(name, fallback) := value if {
	value := data.cdgate_params[name]
} else := fallback

# resource_of(obj) is `Kind/name` (with `namespace/` when set) for messages.
resource_of(obj) := sprintf("%s/%s/%s", [obj.kind, obj.metadata.namespace, _name(obj)]) if {
	is_string(obj.metadata.namespace)
} else := sprintf("%s/%s", [object.get(obj, "kind", "resource"), _name(obj)])

_name(obj) := name if {
	name := obj.metadata.name
	is_string(name)
} else := "(unnamed)"

resource := resource_of(input)

# namespace_of(obj) is the namespace a namespaced resource lands in when
# applied without `-n`: its metadata.namespace, else "default".
namespace_of(obj) := ns if {
	ns := obj.metadata.namespace
	is_string(ns)
	ns != ""
} else := "default"
