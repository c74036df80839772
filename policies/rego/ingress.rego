# Ingress TLS: every host an Ingress serves must be covered by a TLS entry,
# or credentials and session cookies cross the network in clear text.
package cdgate.k8s.ingress

import rego.v1

import data.cdgate.lib.context
import data.cdgate.lib.values

_is_ingress if {
	input.kind == "Ingress"
	startswith(input.apiVersion, "networking.k8s.io/")
}

_tls_hosts contains host if {
	_is_ingress
	some entry in values.list(object.get(input, ["spec", "tls"], []))
	some host in values.list(object.get(values.obj(entry), "hosts", []))
}

# CDG-K8S-120: an Ingress with no TLS at all.
deny contains {
	"msg": sprintf("%s: Ingress serves plain HTTP; add spec.tls with the hosts and a certificate secret", [context.resource]),
	"rule_id": "CDG-K8S-120",
	"path": ["spec", "tls"],
} if {
	_is_ingress
	count(values.list(object.get(input, ["spec", "tls"], []))) == 0
}

# CDG-K8S-121: a host served without a matching TLS entry.
deny contains {
	"msg": sprintf("%s: host %q is not covered by spec.tls; add it to a tls entry's hosts", [context.resource, rule.host]),
	"rule_id": "CDG-K8S-121",
	"path": ["spec", "rules", i, "host"],
} if {
	_is_ingress
	count(values.list(object.get(input, ["spec", "tls"], []))) > 0
	some i, rule in values.list(object.get(input, ["spec", "rules"], []))
	is_string(rule.host)
	not _covered(rule.host)
}

_covered(host) if host in _tls_hosts

# A wildcard TLS host covers exactly one extra label: *.example.com covers a.example.com.
_covered(host) if {
	some pattern in _tls_hosts
	is_string(pattern)
	startswith(pattern, "*.")
	suffix := substring(pattern, 1, -1)
	endswith(host, suffix)
	not contains(trim_suffix(host, suffix), ".")
}
