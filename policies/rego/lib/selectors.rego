# Label selectors as Kubernetes evaluates them, for cross-resource rules that
# need to know which pods a PodDisruptionBudget or NetworkPolicy selects.
package cdgate.lib.selectors

import rego.v1

# matches(selector, labels): `labels` satisfy every matchLabels entry and
# every matchExpressions requirement. An empty selector matches everything.
matches(selector, labels) if {
	is_object(selector)
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[key] == value
	}
	every expr in object.get(selector, "matchExpressions", []) {
		_requirement(expr, labels)
	}
}

# selects_all(selector): the empty selector `{}`.
selects_all(selector) if {
	is_object(selector)
	count(object.get(selector, "matchLabels", {})) == 0
	count(object.get(selector, "matchExpressions", [])) == 0
}

_requirement(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in expr.values
}

_requirement(expr, labels) if {
	expr.operator == "NotIn"
	not labels[expr.key] in expr.values
}

_requirement(expr, labels) if {
	expr.operator == "Exists"
	_has_key(labels, expr.key)
}

_requirement(expr, labels) if {
	expr.operator == "DoesNotExist"
	not _has_key(labels, expr.key)
}

_has_key(obj, key) if {
	some k, _ in obj
	k == key
}
