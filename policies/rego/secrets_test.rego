package cdgate.k8s.secrets_test

import rego.v1

import data.cdgate.k8s.secrets
import data.cdgate.lib.fixtures_test as fx

deny_for(obj) := results if {
	results := secrets.deny with input as obj
}

secret(body) := object.union({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "type": "Opaque"}, body)

test_plaintext_secret_data_denied if {
	results := deny_for(secret({"data": {"password": "aHVudGVyMg=="}}))
	fx.has(results, "CDG-K8S-070", ["data"])
	fx.mentions(results, "CDG-K8S-070", "Secret/shop/db")
}

test_plaintext_secret_string_data_denied if {
	fx.has(deny_for(secret({"stringData": {"password": "hunter2"}})), "CDG-K8S-070", ["stringData"])
}

test_empty_secret_allowed if {
	count(deny_for(secret({}))) == 0
	count(deny_for(secret({"data": {}}))) == 0
}

test_sealed_and_external_secrets_allowed if {
	sealed := {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "db"}, "spec": {"encryptedData": {"password": "AgBy8h..."}}}
	external := {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret", "metadata": {"name": "db"}, "spec": {"data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}}
	count(deny_for(sealed)) == 0
	count(deny_for(external)) == 0
}

test_literal_credential_in_env_denied if {
	c := fx.container({"env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "value": "hunter2"}]})
	results := deny_for(fx.deployment(fx.pod_with("containers", c)))
	fx.has(results, "CDG-K8S-071", fx.path("Deployment", ["containers", 0, "env", 1, "value"]))
	count(results) == 1
}

test_literal_token_in_cronjob_init_container_denied if {
	c := fx.helper({"env": [{"name": "github_token", "value": "ghp_xxx"}]})
	fx.has(deny_for(fx.cronjob(fx.pod_with("initContainers", c))), "CDG-K8S-071", fx.path("CronJob", ["initContainers", 0, "env", 0, "value"]))
}

test_credential_from_secret_ref_allowed if {
	c := fx.container({"env": [
		{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
		{"name": "API_KEY", "value": ""},
	]})
	count(deny_for(fx.deployment(fx.pod_with("containers", c)))) == 0
}

# Issue 8: Bitnami redis sets these; none is a credential.
test_credential_names_with_file_paths_switches_and_references_allowed if {
	c := fx.container({"env": [
		{"name": "REDIS_PASSWORD_FILE", "value": "/opt/bitnami/redis/secrets/redis-password"},
		{"name": "ALLOW_EMPTY_PASSWORD", "value": "no"},
		{"name": "REDIS_TLS_ENABLED", "value": "false"},
		{"name": "TOKEN_TTL", "value": "3600"},
		{"name": "DB_PASSWORD", "value": "$(REDIS_PASSWORD)"},
		{"name": "SECRET_MOUNT", "value": "/etc/secret"},
		{"name": "ADMIN_PASSWORD", "value": "  "},
		{"name": "USE_SECRET", "value": "yes"},
		{"name": "JWT_SECRET_NAME", "value": "api-jwt"},
	]})
	count(deny_for(fx.deployment(fx.pod_with("containers", c)))) == 0
}

test_literal_credential_beside_harmless_ones_still_denied if {
	c := fx.container({"env": [
		{"name": "REDIS_PASSWORD_FILE", "value": "/opt/bitnami/redis/secrets/redis-password"},
		{"name": "REDIS_PASSWORD", "value": "s3cr3t-Passw0rd"},
		{"name": "API_KEY", "value": "0123456789abcdef"},
	]})
	results := deny_for(fx.deployment(fx.pod_with("containers", c)))
	fx.has(results, "CDG-K8S-071", fx.path("Deployment", ["containers", 0, "env", 1, "value"]))
	fx.has(results, "CDG-K8S-071", fx.path("Deployment", ["containers", 0, "env", 2, "value"]))
	count(results) == 2
}
