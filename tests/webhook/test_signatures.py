"""Image signatures in admission: a real registry, the cache shared by requests, registry trouble and the budget."""

from __future__ import annotations

import threading

import pytest

from scanner.supplychain.cosign import ImageTarget, sign_image
from scanner.supplychain.keys import public_key_pem
from supplychain.images import push_image
from webhook.conftest import post, review, start_webhook
from webhook.profiles import pod

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def keys():
    from scanner.supplychain.keys import generate_private_key

    return generate_private_key(), generate_private_key()


@pytest.fixture(scope="module")
def images(registry, keys):
    """(signed, unsigned, signed-by-another-key) image references pinned by digest."""
    from scanner.supplychain.oci import RegistryOptions, open_repository
    from scanner.supplychain.reference import parse_reference

    trusted, untrusted = keys
    options = RegistryOptions(insecure=frozenset({registry.host}), timeout=10.0)
    refs = []
    for name, key in (("signed", trusted), ("unsigned", None), ("other-key", untrusted)):
        reference = parse_reference(f"{registry.host}/webhook/{name}:v1")
        repo = open_repository(reference, options)
        digest = push_image(repo, "v1", {"app": name.encode()})
        if key is not None:
            sign_image(ImageTarget(reference.with_digest(digest), repo, digest), key)
        repo.close()
        refs.append(f"{registry.host}/webhook/{name}@{digest}")
    return refs


def signature_profile(directory, keys, registries, webhook: str = "") -> object:
    (directory / "keys").mkdir(exist_ok=True)
    (directory / "keys" / "release.pub").write_bytes(public_key_pem(keys[0]))
    hosts = "".join(f"      \"{host}\": {{insecure: true}}\n" for host in registries)
    path = directory / "gate.yaml"
    path.write_text(
        "version: 1\nname: signed\ngates:\n  manifest: {enabled: true}\n  signature:\n"
        "    trusted_keys: [keys/release.pub]\n    timeout_s: 30\n    exempt_images: [\"registry.example.internal/*\"]\n"
        "    registries:\n" + hosts + webhook
    )
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory, registry, keys):
    directory = tmp_path_factory.mktemp("signed")
    server = start_webhook(directory, signature_profile(directory, keys, [registry.host]))
    yield server
    server.stop()


def cache_count(server, result: str) -> float:
    return server.state.metrics.value("cdgate_webhook_signature_cache_total", result=result)


def test_signed_image_admitted_unsigned_and_untrusted_denied(served, images):
    signed, unsigned, other_key = images
    with served.client() as http:
        assert post(http, review(pod(name="signed", image=signed)))["allowed"] is True
        for name, image in (("unsigned", unsigned), ("other", other_key)):
            response = post(http, review(pod(name=name, image=image)))
            assert response["allowed"] is False
            message = response["status"]["message"]
            assert "[CDG-SUP-003 " in message and "spec.containers[0].image" in message
            assert f"image {image.split('@')[0]}@sha256:" in message and "has no trusted signature" in message


def test_verifications_are_cached_by_digest_across_requests(served, images):
    signed = images[0]
    with served.client() as http:
        post(http, review(pod(name="first", image=signed)))  # verified now or by an earlier test
        hits = cache_count(served, "hit")
        misses = cache_count(served, "miss")
        for index in range(3):
            assert post(http, review(pod(name=f"again-{index}", image=signed)))["allowed"] is True
    assert cache_count(served, "hit") == hits + 3
    assert cache_count(served, "miss") == misses


def test_unreachable_registry_is_denied_by_failure_mode_and_cached_briefly(tmp_path, keys):
    closed = "127.0.0.1:9"
    image = f"{closed}/webhook/app@sha256:{'a' * 64}"
    server = start_webhook(tmp_path, signature_profile(tmp_path, keys, [closed]))
    try:
        with server.client() as http:
            first = post(http, review(pod(name="far", image=image)))
            second = post(http, review(pod(name="far2", image=image)))
    finally:
        server.stop()
    assert first["allowed"] is False
    message = first["status"]["message"]
    assert message.startswith("cdgate could not evaluate Pod/shop/far, so it is denied (webhook.failure_mode: deny): [CDG-SUP-006]")
    assert "registry 127.0.0.1:9" in message and "can be retried" in message
    assert second["allowed"] is False
    assert server.state.metrics.value("cdgate_webhook_registry_errors_total") == 1  # the failure was kept for failure_ttl_s
    assert cache_count(server, "hit") == 1


def test_failure_mode_allow_admits_with_a_warning(tmp_path, keys):
    closed = "127.0.0.1:9"
    profile = signature_profile(tmp_path, keys, [closed], webhook="webhook:\n  failure_mode: allow\n")
    server = start_webhook(tmp_path, profile)
    try:
        with server.client() as http:
            response = post(http, review(pod(name="far", image=f"{closed}/webhook/app@sha256:{'b' * 64}")))
            bad = post(http, review(pod(name="bad", image=f"{closed}/webhook/app@sha256:{'b' * 64}", securityContext={"privileged": True})))
    finally:
        server.stop()
    assert response["allowed"] is True
    assert response["warnings"][0].startswith("cdgate could not evaluate Pod/shop/far; allowed because webhook.failure_mode is allow: [CDG-SUP-006]")
    assert bad["allowed"] is False and "CDG-K8S-001" in bad["status"]["message"]  # what was evaluated still denies


def test_slow_registry_stalls_only_the_requests_that_need_it(tmp_path, keys, registry, images, holding_registry):
    signed = images[0]
    stuck_image = f"{holding_registry.host}/webhook/app@sha256:{'c' * 64}"
    server = start_webhook(tmp_path, signature_profile(tmp_path, keys, [registry.host, holding_registry.host]))
    stuck: dict = {}
    try:
        with server.client() as http:
            assert post(http, review(pod(name="warm", image=signed)))["allowed"] is True  # cached from here on

            def ask_stuck() -> None:
                with server.client() as other:
                    stuck["response"] = post(other, review(pod(name="stuck", image=stuck_image)))

            waiter = threading.Thread(target=ask_stuck)
            waiter.start()
            assert holding_registry.accepted.wait(30)  # the stuck request is now waiting on the registry
            for index in range(5):
                assert post(http, review(pod(name=f"quick-{index}", image=signed)))["allowed"] is True
                assert post(http, review(pod(name=f"plain-{index}")))["allowed"] is True  # exempt image: no lookup
            assert "response" not in stuck and waiter.is_alive()
            holding_registry.release()
            waiter.join(60)
    finally:
        server.stop()
    assert stuck["response"]["allowed"] is False
    assert "[CDG-SUP-006]" in stuck["response"]["status"]["message"]


def test_time_budget_answers_with_the_failure_mode(tmp_path, keys, holding_registry):
    image = f"{holding_registry.host}/webhook/app@sha256:{'d' * 64}"
    profile = signature_profile(tmp_path, keys, [holding_registry.host], webhook="webhook:\n  timeout_s: 0.5\n")
    server = start_webhook(tmp_path, profile)
    try:
        with server.client() as http:
            response = post(http, review(pod(name="slow", image=image)))
            assert server.state.metrics.value("cdgate_webhook_failure_mode_total", reason="timeout") == 1
            holding_registry.release()
    finally:
        server.stop()
    assert response["allowed"] is False
    assert response["status"]["message"] == (
        "cdgate did not finish evaluating within its time budget of 0.5s (webhook.timeout_s), for example waiting on "
        "an image registry; retry, and if it persists check the registries and cdgate's /metrics; Pod/shop/slow is "
        "denied because webhook.failure_mode is deny"
    )
