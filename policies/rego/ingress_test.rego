package cdgate.k8s.ingress_test

import rego.v1

import data.cdgate.k8s.ingress
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := ingress.deny with input as obj
}

ing(spec) := {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}

_rule(host) := {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}

test_tls_for_every_host_passes if {
	obj := ing({
		"tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}, {"hosts": ["*.api.example.com"], "secretName": "api-tls"}],
		"rules": [_rule("shop.example.com"), _rule("v1.api.example.com")],
	})
	count(deny_for(obj)) == 0
}

test_ingress_without_tls_denied if {
	results := deny_for(ing({"rules": [_rule("shop.example.com")]}))
	fx.has(results, "CDG-K8S-120", ["spec", "tls"])
	fx.none_of(results, "CDG-K8S-121")
}

test_empty_tls_list_denied if {
	fx.has(deny_for(ing({"tls": [], "rules": [_rule("shop.example.com")]})), "CDG-K8S-120", ["spec", "tls"])
}

test_host_not_covered_denied if {
	obj := ing({"tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}], "rules": [_rule("shop.example.com"), _rule("admin.example.com")]})
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-121", ["spec", "rules", 1, "host"])
	not fx.has(results, "CDG-K8S-121", ["spec", "rules", 0, "host"])
	fx.mentions(results, "CDG-K8S-121", "admin.example.com")
}

test_wildcard_covers_one_label_only if {
	obj := ing({"tls": [{"hosts": ["*.example.com"], "secretName": "wild"}], "rules": [_rule("a.example.com"), _rule("a.b.example.com")]})
	results := deny_for(obj)
	fx.has(results, "CDG-K8S-121", ["spec", "rules", 1, "host"])
	not fx.has(results, "CDG-K8S-121", ["spec", "rules", 0, "host"])
}

test_other_kinds_ignored if {
	count(deny_for({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {}})) == 0
}
