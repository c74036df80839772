# Argo CD Application and ApplicationSet hygiene: the `default` project
# allows any source and destination; without automated sync and selfHeal the
# cluster drifts from Git; without an explicit destination namespace
# resources land wherever their manifests (or the default) say.
package cdgate.argocd

import rego.v1

import data.cdgate.lib.context

# Where the Application spec lives, per kind.
_spec_prefix := {"Application": ["spec"], "ApplicationSet": ["spec", "template", "spec"]}

app_specs contains {"spec": spec, "path": prefix} if {
	startswith(input.apiVersion, "argoproj.io/")
	prefix := _spec_prefix[input.kind]
	spec := object.get(input, prefix, null)
	is_object(spec)
}

# CDG-ARGO-001: not the `default` project.
deny contains {
	"msg": sprintf("%s: uses the default project, which allows any repository and destination; set project to a dedicated AppProject", [context.resource]),
	"rule_id": "CDG-ARGO-001",
	"path": array.concat(app.path, ["project"]),
} if {
	some app in app_specs
	object.get(app.spec, "project", "default") in {"default", ""}
}

# CDG-ARGO-002: automated sync with selfHeal.
deny contains {
	"msg": sprintf("%s: has no automated sync, so the cluster can drift from Git; set syncPolicy.automated.selfHeal to true", [context.resource]),
	"rule_id": "CDG-ARGO-002",
	"path": array.concat(app.path, ["syncPolicy", "automated"]),
} if {
	some app in app_specs
	not _automated(app.spec)
}

deny contains {
	"msg": sprintf("%s: automated sync does not self-heal, so manual changes in the cluster stay; set syncPolicy.automated.selfHeal to true", [context.resource]),
	"rule_id": "CDG-ARGO-002",
	"path": array.concat(app.path, ["syncPolicy", "automated", "selfHeal"]),
} if {
	some app in app_specs
	_automated(app.spec)
	object.get(app.spec, ["syncPolicy", "automated", "selfHeal"], false) != true
}

# `automated: {}` turns automation on; `enabled: false` (Argo CD 3) turns it off.
_automated(spec) if {
	automated := spec.syncPolicy.automated
	is_object(automated)
	object.get(automated, "enabled", true) != false
}

# CDG-ARGO-003: an explicit destination namespace.
deny contains {
	"msg": sprintf("%s: has no destination namespace; set destination.namespace", [context.resource]),
	"rule_id": "CDG-ARGO-003",
	"path": array.concat(app.path, ["destination", "namespace"]),
} if {
	some app in app_specs
	object.get(app.spec, ["destination", "namespace"], "") == ""
}
