"""The JSON Schema of `gate.yaml`, with every gate's and engine's section.

It lives below the profile, the gates and the engines, so each can read it
without importing the others; `schemas/gate.schema.json` is generated from it.
A new gate or engine adds its section schema here.
"""

from __future__ import annotations

from typing import Any

from scanner.findings import Severity

VULNERABILITY_GATE_SCHEMA: dict[str, Any] = {
    "title": "gates.vulnerability",
    "description": "The build gate's image vulnerability scan (Trivy): which vulnerabilities block. "
    "Severity thresholds are the profile's fail_on (high: CRITICAL and HIGH block).",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": True, "description": "Scan images for vulnerabilities."},
        "ignore_unfixed": {
            "type": "boolean",
            "default": False,
            "description": "Drop vulnerabilities that have no fixed version yet.",
        },
        "trivyignore": {
            "type": "string",
            "minLength": 1,
            "description": "A .trivyignore.yaml (relative to the profile) whose entries become waivers; "
            "entries past their expired_at stop applying.",
        },
    },
}

SIGNATURE_GATE_SCHEMA: dict[str, Any] = {
    "title": "gates.signature",
    "description": "Which images may run: digest-pinned, signed by a trusted key, with the listed attestations.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean", "default": True, "description": "Run this gate."},
        "trusted_keys": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "cosign.pub files (PEM PUBLIC KEY), relative to the profile's directory. "
            "A signature from any of them is trusted.",
        },
        "require_digest": {"type": "boolean", "default": True, "description": "Images must be referenced @sha256:..."},
        "allow_tag_resolution": {
            "type": "boolean",
            "default": False,
            "description": "Resolve a tag to its current digest and verify that (with a finding asking to pin it).",
        },
        "require_signature": {"type": "boolean", "default": True, "description": "Images must carry a trusted signature."},
        "attestations": {
            "type": "array",
            "description": "Attestations every image must carry.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type"],
                "properties": {
                    "name": {"type": "string", "description": "Name for messages (default: the type)."},
                    "type": {
                        "type": "string",
                        "description": "Predicate type: cyclonedx, spdxjson, vuln, slsaprovenance1, custom, gate-verdict, or a URI.",
                    },
                    "condition": {
                        "type": "string",
                        "description": "Rego in package cdgate.attestation; a non-empty `deny` (input = the predicate) fails it.",
                    },
                },
            },
        },
        "registries": {
            "type": "object",
            "description": "Per-registry settings, keyed by host[:port].",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"insecure": {"type": "boolean", "description": "Plain HTTP (loopback registries only)."}},
            },
        },
        "exempt_images": {
            "type": "array",
            "items": {"type": "string"},
            "description": "fnmatch patterns of images the gate does not check (e.g. registry.k8s.io/pause*).",
        },
        "environments": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Run only for these environments (default: all).",
        },
        "trusted_root": {"type": "string", "description": "Sigstore trusted_root.json for Rekor entries, relative to the profile."},
        "require_tlog": {"type": "boolean", "default": False, "description": "Demand a Rekor entry with every signature."},
        "offline": {"type": "boolean", "default": False, "description": "Never contact registries; check pinning only."},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "default": 30, "description": "Per-request registry timeout."},
        "docker_config": {"type": "string", "description": "docker config.json with registry credentials (default: ~/.docker)."},
    },
}

WEBHOOK_SCHEMA: dict[str, Any] = {
    "title": "webhook",
    "description": "How `cdgate webhook serve` answers admission requests with this profile.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mode": {
            "enum": ["enforce", "audit"],
            "default": "enforce",
            "description": "enforce: deny what fails the gate; audit: allow it, log and count it.",
        },
        "rules": {
            "type": "object",
            "description": "Per-rule mode, keyed by rule id or glob (exact id first, then the first glob).",
            "additionalProperties": {"enum": ["enforce", "audit"]},
        },
        "failure_mode": {
            "enum": ["deny", "allow"],
            "default": "deny",
            "description": "The answer when cdgate cannot evaluate (engine or registry error, time budget spent, overload).",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 30,
            "default": 8,
            "description": "Per-request time budget; keep it under the webhook's timeoutSeconds.",
        },
        "operations": {
            "type": "array",
            "items": {"enum": ["CREATE", "UPDATE", "DELETE", "CONNECT"]},
            "default": ["CREATE", "UPDATE"],
            "description": "Operations evaluated; others are allowed without evaluation.",
        },
        "exclude_namespaces": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": ["kube-system"],
            "description": "fnmatch patterns of namespaces whose requests are allowed without evaluation.",
        },
        "exclude_labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Objects carrying any of these label=value pairs are allowed without evaluation.",
        },
        "max_request_bytes": {
            "type": "integer",
            "minimum": 1024,
            "default": 3145728,
            "description": "Larger AdmissionReview bodies are refused with 413.",
        },
        "max_in_flight": {
            "type": "integer",
            "minimum": 1,
            "default": 64,
            "description": "Evaluations running or queued at once; beyond it requests get the failure mode at once.",
        },
        "signature_cache": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ttl_s": {"type": "number", "minimum": 0, "default": 300, "description": "How long a verified result is kept."},
                "failure_ttl_s": {"type": "number", "minimum": 0, "default": 10, "description": "How long a registry error is kept."},
                "max_entries": {"type": "integer", "minimum": 1, "default": 10000},
            },
        },
    },
}


_SEVERITY = {"enum": [s.value for s in Severity]}
_GLOB = {"type": "string", "minLength": 1}
_RULE_OVERRIDES = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"severity": _SEVERITY, "disabled": {"type": "boolean"}},
    },
}
_WAIVER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rule", "reason", "owner", "expires"],
    "description": "An accepted risk: a rule on named resources, with a reason, an owner and an expiry date.",
    "properties": {
        "rule": {**_GLOB, "description": "Rule id or glob (CDG-K8S-001, kyverno:policy/*)."},
        "resource": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "description": "Globs over the resource's identity; required unless `scope: all`.",
            "properties": {"kind": _GLOB, "namespace": _GLOB, "name": _GLOB},
        },
        "scope": {"const": "all", "description": "Waive the rule on every resource (instead of `resource`)."},
        "environments": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": "string", "minLength": 3},
        "owner": {"type": "string", "minLength": 1},
        "expires": {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}$",
            "description": "YYYY-MM-DD; at most max_days (default 180) from today.",
        },
    },
}
_MAX_DAYS = {
    "type": "integer",
    "minimum": 1,
    "description": "Longest a waiver may run: its expires is at most this many days from today (default 180).",
}
# `waivers:` is a list, or `{max_days: N, items: [...]}`: `items` applies to the
# list form and `properties` to the mapping form, so errors stay specific.
_WAIVERS = {
    "type": ["array", "object"],
    "items": _WAIVER,
    "additionalProperties": False,
    "properties": {"max_days": _MAX_DAYS, "items": {"type": "array", "items": _WAIVER}},
}
_ENGINE_PATHS = {"type": "array", "items": {"type": "string"}}

GATEKEEPER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Gatekeeper ConstraintTemplates and Constraints run in the manifest gate (docs/gatekeeper.md).",
    "properties": {
        "policies": {**_ENGINE_PATHS, "description": "Files or directories holding ConstraintTemplates and Constraints."},
        "sync": {
            "type": "array",
            "description": "Kinds of scanned documents put into data.inventory, as Gatekeeper's sync config.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind"],
                "properties": {
                    "group": {"type": "string", "description": "API group; empty for the core group."},
                    "version": {"type": "string", "description": "API version; empty for any."},
                    "kind": {"type": "string", "minLength": 1, "description": "Kind, or * for every kind of the group."},
                },
            },
        },
        "external_data": {
            "type": "object",
            "description": "Responses for the external_data builtin: provider -> key -> value (providers are never called).",
            "additionalProperties": {"type": "object"},
        },
        "k8s_native_validation": {
            "type": "boolean",
            "default": True,
            "description": "Gatekeeper's --enable-k8s-native-validation: templates carrying K8sNativeValidation (CEL) "
            "code run it instead of their Rego; false runs the Rego and refuses CEL-only templates.",
        },
    },
}

PROFILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "cdgate profile (gate.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "name": {"type": "string"},
        "fail_on": _SEVERITY,
        "gates": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "manifest": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"enabled": {"type": "boolean"}},
                },
                "signature": SIGNATURE_GATE_SCHEMA,
                "vulnerability": VULNERABILITY_GATE_SCHEMA,
            },
        },
        "rego": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "bundled": {"type": "boolean"},
                "policies": _ENGINE_PATHS,
                "data": _ENGINE_PATHS,
                "namespaces": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "params": {"type": "object"},
                "engine": {
                    "enum": ["regorus", "opa-server"],
                    "description": "regorus in process (default), or a remote OPA server's Data API.",
                },
                "url": {"type": "string", "pattern": "^https?://", "description": "The OPA server (https, or http on loopback)."},
                "token_env": {"type": "string", "minLength": 1, "description": "Environment variable holding the server's bearer token."},
                "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "description": "Total deadline of one decision, retries included."},
                "retries": {"type": "integer", "minimum": 0, "maximum": 5, "description": "Retries after a connection error or 429/502/503/504."},
                "ca_file": {"type": "string", "description": "CA bundle (PEM) for the server's certificate, relative to the profile."},
                "combine": {"type": "boolean"},
            },
            "if": {"properties": {"engine": {"const": "opa-server"}}, "required": ["engine"]},
            "then": {"required": ["url"]},
        },
        "kyverno": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "bundled": {"type": "boolean"},
                "policies": _ENGINE_PATHS,
                "audit_fails": {"type": "boolean"},
            },
        },
        "gatekeeper": GATEKEEPER_SCHEMA,
        "cel": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "policies": _ENGINE_PATHS,
                "params": _ENGINE_PATHS,
                "data": _ENGINE_PATHS,
            },
        },
        "inputs": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_file_bytes": {"type": "integer", "minimum": 1},
                "values": _ENGINE_PATHS,
                "set": {"type": "array", "items": {"type": "string"}},
                "allow_empty": {"type": "boolean"},
                "include_test_hooks": {"type": "boolean"},
                "default_namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
            },
        },
        "rules": _RULE_OVERRIDES,
        "waivers": _WAIVERS,
        "waiver_policy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"max_days": _MAX_DAYS},
        },
        "promotion": {  # merge gate: an image enters an environment only from the one before it
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 2,
            "uniqueItems": True,
        },
        "webhook": WEBHOOK_SCHEMA,
        "environments": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "fail_on": _SEVERITY,
                    "rules": _RULE_OVERRIDES,
                    "rego": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"params": {"type": "object"}},
                    },
                },
            },
        },
    },
}




def schema_text() -> str:
    """`PROFILE_SCHEMA` as the text of `schemas/gate.schema.json` (stable: two-space indent, newline)."""
    import json

    return json.dumps(PROFILE_SCHEMA, indent=2, ensure_ascii=False) + "\n"
