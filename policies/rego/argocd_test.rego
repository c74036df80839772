package cdgate.argocd_test

import rego.v1

import data.cdgate.argocd
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := argocd.deny with input as obj
}

good_app_spec := {
	"project": "shop",
	"source": {"repoURL": "https://git.example.com/cd.git", "path": "services/web", "targetRevision": "main"},
	"destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
	"syncPolicy": {"automated": {"prune": true, "selfHeal": true}},
}

app(patch) := {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "web", "namespace": "argocd"}, "spec": object.union(good_app_spec, patch)}

appset(spec) := {
	"apiVersion": "argoproj.io/v1alpha1",
	"kind": "ApplicationSet",
	"metadata": {"name": "services", "namespace": "argocd"},
	"spec": {
		"generators": [{"list": {"elements": [{"name": "web"}]}}],
		"template": {"metadata": {"name": "{{name}}"}, "spec": spec},
	},
}

test_good_application_and_applicationset_pass if {
	count(deny_for(app({}))) == 0
	count(deny_for(appset(good_app_spec))) == 0
}

test_default_project_denied if {
	fx.has(deny_for(app({"project": "default"})), "CDG-ARGO-001", ["spec", "project"])
}

test_missing_project_denied_in_applicationset if {
	spec := object.remove(good_app_spec, ["project"])
	fx.has(deny_for(appset(spec)), "CDG-ARGO-001", ["spec", "template", "spec", "project"])
}

test_templated_project_allowed if {
	fx.none_of(deny_for(appset(object.union(good_app_spec, {"project": "{{team}}"}))), "CDG-ARGO-001")
}

test_manual_sync_denied if {
	obj := json.remove(app({}), ["spec/syncPolicy"])
	results := deny_for(obj)
	fx.has(results, "CDG-ARGO-002", ["spec", "syncPolicy", "automated"])
}

test_automated_without_self_heal_denied if {
	results := deny_for(app({"syncPolicy": {"automated": {"prune": true, "selfHeal": false}}}))
	fx.has(results, "CDG-ARGO-002", ["spec", "syncPolicy", "automated", "selfHeal"])
	spec := json.remove(good_app_spec, ["syncPolicy/automated/selfHeal"])
	fx.has(deny_for(appset(spec)), "CDG-ARGO-002", ["spec", "template", "spec", "syncPolicy", "automated", "selfHeal"])
}

test_automation_disabled_counts_as_manual if {
	results := deny_for(app({"syncPolicy": {"automated": {"enabled": false, "selfHeal": true}}}))
	fx.has(results, "CDG-ARGO-002", ["spec", "syncPolicy", "automated"])
}

test_missing_destination_namespace_denied if {
	spec := json.remove(good_app_spec, ["destination/namespace"])
	fx.has(deny_for(appset(spec)), "CDG-ARGO-003", ["spec", "template", "spec", "destination", "namespace"])
	fx.has(deny_for(app({"destination": {"namespace": ""}})), "CDG-ARGO-003", ["spec", "destination", "namespace"])
}

test_non_argo_kinds_ignored if {
	count(deny_for({"apiVersion": "example.com/v1", "kind": "Application", "spec": {"project": "default"}})) == 0
}
