"""The pattern language: anchors, wildcards, operators, ranges, quantities."""

from __future__ import annotations

import pytest

from scanner.engines.kyverno.patterns import match_pattern
from scanner.engines.kyverno.values import validate


def pod(*containers: dict, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": list(containers), **spec}}


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("nginx:1.2", "*:*", True),
        ("nginx", "*:*", False),
        ("nginx:latest", "!*:latest", False),
        ("nginx:1.0", "!*:latest", True),
        ("ab", "a?", True),
        ("abc", "a?", False),
        ("", "?*", False),
        (5, ">3", True),
        (3, ">3", False),
        (3, ">=3", True),
        ("500m", "<1", True),
        ("2Gi", "<=2048Mi", True),
        ("3Gi", "<=2Gi", False),
        (7, "1-10", True),
        (11, "1-10", False),
        (11, "1!-10", True),
        (5, "1!-10", False),
        ("1500m", "1-2", True),
        ("red", "blue | red", True),
        ("red", "red & !blue", True),
        ("1h", ">30m", True),
        ("10m", ">30m", False),
        (None, None, True),
        ("", None, True),
        (0, None, True),
        ("x", None, False),
        (True, True, True),
        ("true", True, False),
        (80, 80, True),
        ("80", 80, True),
        (80.0, 80, True),
        (1.5, 1.5, True),
        (None, "!*", False),
    ],
)
def test_scalar_patterns(value: object, pattern: object, expected: bool) -> None:
    assert validate(value, pattern) is expected


def test_plain_key_mismatch_fails_with_path() -> None:
    outcome = match_pattern(pod({"name": "a", "image": "nginx"}), {"spec": {"containers": [{"image": "*:*"}]}})
    assert outcome.status == "fail"
    assert outcome.path == "/spec/containers/0/image/"
    assert outcome.json_path() == ("spec", "containers", 0, "image")


def test_condition_anchor_skips_when_no_item_applies() -> None:
    pattern = {"spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "Always"}]}}
    assert match_pattern(pod({"image": "nginx:1.0"}), pattern).status == "skip"
    assert match_pattern(pod({"image": "nginx:latest", "imagePullPolicy": "Always"}), pattern).status == "pass"
    assert match_pattern(pod({"image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}), pattern).status == "fail"


def test_condition_anchor_passes_over_items_it_does_not_apply_to() -> None:
    pattern = {"spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "Always"}]}}
    resource = pod({"image": "nginx:1.0"}, {"image": "redis:latest", "imagePullPolicy": "Always"})
    assert match_pattern(resource, pattern).status == "pass"


def test_equality_anchor_checks_only_present_keys() -> None:
    pattern = {"spec": {"=(hostNetwork)": False}}
    assert match_pattern(pod(), pattern).status == "pass"
    assert match_pattern(pod(hostNetwork=False), pattern).status == "pass"
    assert match_pattern(pod(hostNetwork=True), pattern).status == "fail"


def test_negation_anchor_fails_when_key_present() -> None:
    pattern = {"spec": {"=(volumes)": [{"X(hostPath)": "null"}]}}
    assert match_pattern(pod(volumes=[{"name": "a", "emptyDir": {}}]), pattern).status == "pass"
    outcome = match_pattern(pod(volumes=[{"name": "a", "hostPath": {"path": "/"}}]), pattern)
    assert outcome.status == "fail"
    assert outcome.path == "/spec/volumes/0/hostPath/"


def test_existence_anchor_needs_one_matching_item() -> None:
    pattern = {"spec": {"^(containers)": [{"image": "nginx*"}]}}
    assert match_pattern(pod({"image": "redis"}, {"image": "nginx:1"}), pattern).status == "pass"
    assert match_pattern(pod({"image": "redis"}), pattern).status == "fail"


def test_global_anchor_skips_the_whole_rule() -> None:
    pattern = {"spec": {"containers": [{"<(image)": "corp.io/*", "imagePullPolicy": "Always"}]}}
    assert match_pattern(pod({"image": "docker.io/x"}), pattern).status == "skip"
    assert match_pattern(pod({"image": "corp.io/x", "imagePullPolicy": "Never"}), pattern).status == "fail"


def test_star_requires_presence() -> None:
    assert match_pattern(pod(), {"metadata": {"labels": {"app": "*"}}}).status == "fail"
    labelled = pod()
    labelled["metadata"]["labels"] = {"app": "x"}
    assert match_pattern(labelled, {"metadata": {"labels": {"app": "*"}}}).status == "pass"


def test_wildcard_label_keys_take_the_resource_keys() -> None:
    resource = pod()
    resource["metadata"]["labels"] = {"app.kubernetes.io/name": "web"}
    assert match_pattern(resource, {"metadata": {"labels": {"app.kubernetes.io/*": "web"}}}).status == "pass"
    assert match_pattern(resource, {"metadata": {"labels": {"app.kubernetes.io/*": "db"}}}).status == "fail"


def test_scalar_pattern_applies_to_every_list_item() -> None:
    resource = {"spec": {"hosts": ["a.example.com", "b.example.com"]}}
    assert match_pattern(resource, {"spec": {"hosts": "*.example.com"}}).status == "pass"
    resource["spec"]["hosts"].append("evil.org")
    assert match_pattern(resource, {"spec": {"hosts": "*.example.com"}}).status == "fail"


def test_paths_keep_keys_with_slashes_whole() -> None:
    resource = pod()
    resource["metadata"]["labels"] = {"app.kubernetes.io/name": "web"}
    outcome = match_pattern(resource, {"metadata": {"labels": {"app.kubernetes.io/name": "db"}}})
    assert outcome.status == "fail"
    assert outcome.json_path() == ("metadata", "labels", "app.kubernetes.io/name")


def test_array_length_mismatch_is_an_error_not_a_failure() -> None:
    outcome = match_pattern({"spec": {"args": [["a"]]}}, {"spec": {"args": [["a"], ["b"]]}})
    assert outcome.status == "error"
