"""Promotion order: images enter an environment only from the one before it."""

from __future__ import annotations

from supplychain.documents import load_documents

from scanner.merge.promotion import RULE_NOT_PROMOTED, check_promotion, identity_of, previous_environment

ORDER = ("dev", "staging", "prod")
DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64


def deployment(image: str, name: str = "api") -> list:
    return load_documents(
        f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}
"""
    )


def test_previous_environment_follows_the_order():
    assert [previous_environment(ORDER, e) for e in ORDER] == [None, "dev", "staging"]
    assert previous_environment(ORDER, "qa") is None and previous_environment(ORDER, None) is None


def test_digest_entering_staging_must_run_in_dev():
    head = deployment(f"reg.example/shop/api@{DIGEST_2}")
    results = check_promotion("staging", "dev", head, deployment(f"reg.example/shop/api@{DIGEST_1}"),
                              deployment(f"reg.example/shop/api@{DIGEST_1}"), "abc123")
    assert [r.rule_id for r in results] == [RULE_NOT_PROMOTED]
    assert results[0].json_path == "spec.template.spec.containers[0].image"
    assert "enters staging but is not deployed in dev at abc123" in results[0].message
    assert results[0].properties["image"].endswith(DIGEST_2)


def test_digest_already_upstream_or_already_here_passes():
    head = deployment(f"reg.example/shop/api:1.2@{DIGEST_2}")
    upstream = deployment(f"reg.example/shop/api@{DIGEST_2}", name="other-name")  # same repository and digest
    assert check_promotion("prod", "staging", head, [], upstream, "abc") == []
    already = deployment(f"reg.example/shop/api@{DIGEST_2}")
    assert check_promotion("prod", "staging", head, already, [], "abc") == []


def test_same_digest_from_another_repository_does_not_count():
    head = deployment(f"reg.example/shop/api@{DIGEST_2}")
    upstream = deployment(f"reg.example/other/api@{DIGEST_2}")
    assert len(check_promotion("prod", "staging", head, [], upstream, "abc")) == 1


def test_identity_uses_digest_then_tag():
    assert str(identity_of(f"reg.example/shop/api:1.2@{DIGEST_1}")) == f"reg.example/shop/api@{DIGEST_1}"
    assert str(identity_of("reg.example/shop/api:1.2")) == "reg.example/shop/api:1.2"
    assert identity_of("UPPER/Case") is None
