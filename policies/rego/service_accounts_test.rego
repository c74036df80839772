package cdgate.k8s.service_accounts_test

import rego.v1

import data.cdgate.k8s.service_accounts
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := service_accounts.deny with input as obj
}

test_dedicated_account_without_token_passes if {
	every kind in fx.all_kinds {
		count(deny_for(fx.workload(kind, fx.good_pod_spec))) == 0
	}
}

test_token_automount_unset_denied_in_every_kind if {
	every kind in fx.all_kinds {
		spec := object.remove(fx.good_pod_spec, ["automountServiceAccountToken"])
		fx.has(deny_for(fx.workload(kind, spec)), "CDG-K8S-080", fx.path(kind, ["automountServiceAccountToken"]))
	}
}

test_token_automount_true_denied if {
	fx.has(deny_for(fx.cronjob(fx.pod({"automountServiceAccountToken": true}))), "CDG-K8S-080", fx.path("CronJob", ["automountServiceAccountToken"]))
}

test_default_service_account_denied if {
	results := deny_for(fx.deployment(fx.pod({"serviceAccountName": "default"})))
	fx.has(results, "CDG-K8S-081", fx.path("Deployment", ["serviceAccountName"]))
	fx.mentions(results, "CDG-K8S-081", "Deployment/shop/web")
}

test_missing_service_account_name_means_default if {
	spec := object.remove(fx.good_pod_spec, ["serviceAccountName"])
	fx.has(deny_for(fx.cronjob(spec)), "CDG-K8S-081", fx.path("CronJob", ["serviceAccountName"]))
}

test_deprecated_service_account_field_honoured if {
	spec := object.union(object.remove(fx.good_pod_spec, ["serviceAccountName"]), {"serviceAccount": "web"})
	fx.none_of(deny_for(fx.deployment(spec)), "CDG-K8S-081")
}
