# Label selectors as Kubernetes evaluates them, for cross-resource rules that
# need to know which pods a PodDisruptionBudget or NetworkPolicy selects.
package cdgate.lib.selectors

import rego.v1

# matches(selector, labels): `labels` satisfy every matchLabels entry and
# every matchExpressions requirement. An empty selector matches everything.
matches(selector, labels) if {
	is_object(selector)
	every key, value in _obj(object.get(selector, "matchLabels", {})) {
		labels[key] == value
	}
	every expr in _list(object.get(selector, "matchExpressions", [])) {
		_requirement(expr, labels)
	}
}

# selects_all(selector): the empty selector `{}`.
selects_all(selector) if {
	is_object(selector)
	count(_obj(object.get(selector, "matchLabels", {}))) == 0
	count(_list(object.get(selector, "matchExpressions", []))) == 0
}

_requirement(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in _list(expr.values)
}

_requirement(expr, labels) if {
	expr.operator == "NotIn"
	not _label_in(labels, expr.key, _list(expr.values)) # a missing label is "not in", as Kubernetes says
}

# A helper, not `not labels[key] in values`: real OPA evaluates `labels[key]`
# outside the negation, so a missing label makes the expression undefined.
_label_in(labels, key, values) if labels[key] in values

_requirement(expr, labels) if {
	expr.operator == "Exists"
	_has_key(labels, expr.key)
}

_requirement(expr, labels) if {
	expr.operator == "DoesNotExist"
	not _has_key(labels, expr.key)
}

_list(v) := v if {
	is_array(v)
} else := []

_obj(v) := v if {
	is_object(v)
} else := {}

_has_key(obj, key) if {
	some k, _ in obj
	k == key
}
