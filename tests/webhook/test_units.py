"""The webhook's small parts: settings, warnings bounds, namespace labels file, metrics text, the profile section."""

from __future__ import annotations

import pytest

from scanner.errors import ConfigError
from scanner.profile import load_profile
from scanner.webhook.metrics import WebhookMetrics
from scanner.webhook.namespaces import NamespaceLabelStore
from scanner.webhook.review import MAX_WARNING_CHARS, bound_warnings
from scanner.webhook.settings import load_webhook_settings


def test_rule_mode_exact_then_glob_then_profile_mode():
    settings = load_webhook_settings({"mode": "enforce", "rules": {"kyverno:*": "audit", "kyverno:strict/*": "enforce", "CDG-K8S-002": "audit"}})
    assert settings.rule_mode("CDG-K8S-002") == "audit"
    assert settings.rule_mode("kyverno:require-labels/check") == "audit"
    assert settings.rule_mode("kyverno:strict/x") == "audit"  # first matching glob wins, as for rules: overrides
    assert settings.rule_mode("CDG-K8S-001") == "enforce"
    assert load_webhook_settings({"mode": "audit"}).rule_mode("CDG-K8S-001") == "audit"


def test_exclusions_by_namespace_glob_and_label():
    settings = load_webhook_settings({"exclude_namespaces": ["kube-*", "cdgate"], "exclude_labels": {"cdgate.io/skip": "true"}})
    assert settings.exclusion("kube-public", {}) == "namespace kube-public is excluded (webhook.exclude_namespaces)"
    assert settings.exclusion("shop", {"cdgate.io/skip": "true"}) == "label cdgate.io/skip=true is excluded (webhook.exclude_labels)"
    assert settings.exclusion("shop", {"cdgate.io/skip": "yes"}) is None
    assert load_webhook_settings(None).exclusion("kube-system", {}) is not None  # excluded by default


def test_webhook_section_is_validated_with_file_and_line(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("version: 1\nwebhook:\n  mode: enforce\n  failure_mode: maybe\n")
    with pytest.raises(ConfigError) as raised:
        load_profile(path)
    assert raised.value.line == 4 and "webhook.failure_mode" in str(raised.value)
    path.write_text("version: 1\nwebhook:\n  timeout_s: 9\n  rules: {CDG-K8S-001: audit}\n")
    profile = load_profile(path)
    assert load_webhook_settings(profile.webhook).timeout_s == 9.0
    assert profile.for_environment("prod").webhook == {"timeout_s": 9, "rules": {"CDG-K8S-001": "audit"}}


def test_warnings_are_cut_to_what_the_api_server_keeps():
    many = [f"cdgate: [CDG-K8S-{i:03d} medium] " + "x" * 400 for i in range(40)]
    bounded = bound_warnings(many)
    assert all(len(w) <= MAX_WARNING_CHARS for w in bounded)
    assert bounded[0].endswith("…")
    assert sum(len(w) for w in bounded) <= 4000
    shown = len(bounded) - 1
    assert 0 < shown < 40 and bounded[-1] == f"cdgate: {40 - shown} more warning(s) not shown; run cdgate check for all"
    assert bound_warnings(["a  b\n c"]) == ["a b c"]


def test_namespace_labels_file_is_read_and_reloaded(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("shop: {team: payments, tier: '1'}\nempty:\n")
    store = NamespaceLabelStore()
    store.load_file(path)
    assert store("shop") == {"team": "payments", "tier": "1"} and store("empty") == {} and store("unknown") == {}
    path.write_text("shop: {team: retail}\n")
    assert store.reload_file_if_changed() is True
    assert store("shop") == {"team": "retail"}
    path.write_text("- not a mapping\n")
    assert store.reload_file_if_changed() is False
    assert store("shop") == {"team": "retail"}  # a broken file keeps the labels it had


def test_namespace_labels_file_errors_name_the_file(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text("shop: [team]\n")
    with pytest.raises(ConfigError) as raised:
        NamespaceLabelStore().load_file(path)
    assert str(path) in str(raised.value) and "mapping of namespace name" in str(raised.value)


def test_metrics_text_format():
    metrics = WebhookMetrics()
    metrics.inc("cdgate_webhook_decisions_total", rule='kyverno:"odd"/rule', outcome="deny")
    metrics.observe_latency(0.002)
    metrics.observe_latency(0.2)
    text = metrics.render()
    assert 'cdgate_webhook_decisions_total{outcome="deny",rule="kyverno:\\"odd\\"/rule"} 1' in text
    assert 'cdgate_webhook_request_duration_seconds_bucket{le="0.0025"} 1' in text
    assert 'cdgate_webhook_request_duration_seconds_bucket{le="0.25"} 2' in text
    assert "cdgate_webhook_request_duration_seconds_count 2" in text
    assert "# TYPE cdgate_webhook_request_duration_seconds histogram" in text


def test_findings_annotation_is_bounded_and_says_what_it_left_out():
    import json

    from scanner.findings import Finding, Location, Severity
    from scanner.webhook.app import MAX_ANNOTATION_CHARS, findings_annotation

    findings = [Finding(f"CDG-K8S-{i:03d}", Severity.MEDIUM, "m", Location("p", kind="Pod", json_path=f"spec.containers[{i}].image"),
                        "rego", "manifest") for i in range(300)]
    text = findings_annotation(findings)
    assert len(text) <= MAX_ANNOTATION_CHARS
    entries = json.loads(text)
    shown = len(entries) - 1
    assert entries[-1] == {"omitted": 300 - shown} and 0 < shown < 300
    assert entries[0] == {"rule": "CDG-K8S-000", "severity": "medium", "outcome": "fail", "waived": False, "path": "spec.containers[0].image"}
    assert json.loads(findings_annotation(findings[:3]))[-1]["rule"] == "CDG-K8S-002"  # all fit: nothing omitted
