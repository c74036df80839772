"""Bodies that are not a usable AdmissionReview v1 get a 4xx or a denial, and the server keeps serving."""

from __future__ import annotations

import json

import pytest

from webhook.conftest import post, review, start_webhook
from webhook.profiles import pod

LIMIT = 4096


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad")
    profile = directory / "gate.yaml"
    profile.write_text(f"version: 1\nname: limits\nwebhook:\n  max_request_bytes: {LIMIT}\n")
    server = start_webhook(directory, profile)
    yield server
    server.stop()


@pytest.fixture
def http(served):
    with served.client() as client:
        yield client


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "body is not JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "not a JSON object"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, "body is not JSON"),
        (json.dumps({**review(pod()), "apiVersion": "admission.k8s.io/v1beta1"}).encode(), {"content-type": "application/json"}, 400,
         "set admissionReviewVersions: [v1]"),
        (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(), {"content-type": "application/json"}, 400,
         "has no request object"),
        (json.dumps({**review(pod()), "request": {**review(pod())["request"], "uid": ""}}).encode(), {"content-type": "application/json"}, 400,
         "has no uid"),
        (json.dumps({**review(pod()), "request": {**review(pod())["request"], "operation": "PATCH"}}).encode(), {"content-type": "application/json"}, 400,
         "request.operation 'PATCH'"),
        (json.dumps(review(pod())).encode(), {"content-type": "text/plain"}, 415, "is not application/json"),
        (json.dumps(review(pod())).encode(), {}, 415, "is not application/json"),
    ],
    ids=["broken-json", "json-array", "not-utf8", "v1beta1", "no-request", "no-uid", "bad-operation", "text-plain", "no-content-type"],
)
def test_unusable_bodies_get_a_4xx_with_the_reason(http, body, headers, status, says):
    response = http.post("/validate", content=body, headers=headers)
    assert response.status_code == status
    assert says in response.json()["error"]
    assert http.get("/healthz").status_code == 200


def test_oversized_review_is_refused_by_declared_and_by_streamed_length(http, served):
    big = review(pod())
    big["request"]["object"]["metadata"]["annotations"] = {"padding": "x" * (2 * LIMIT)}
    body = json.dumps(big).encode()
    declared = http.post("/validate", content=body, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert f"over webhook.max_request_bytes ({LIMIT})" in declared.json()["error"]

    def chunks():  # no content-length: chunked transfer, counted as it arrives
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    streamed = http.post("/validate", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert served.state.metrics.value("cdgate_webhook_invalid_reviews_total", status="413") >= 2


def test_review_without_an_object_is_denied_by_uid(http):
    body = review(pod())
    body["request"]["object"] = None
    response = post(http, body)
    assert response["uid"] == body["request"]["uid"]
    assert response["allowed"] is False
    assert response["status"]["message"] == "cdgate cannot evaluate Pod/shop/web: request.object is missing"


def test_ill_typed_object_is_answered_as_ci_would(http):
    # The API server rejects such a Pod before admission; if one arrives, the policies still judge what is there.
    body = review({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "odd", "namespace": "shop"}, "spec": {"containers": "not-a-list"}})
    response = post(http, body)
    assert response["allowed"] is True
    assert sorted(f["rule"] for f in json.loads(response["auditAnnotations"]["findings"])) == ["CDG-K8S-080", "CDG-K8S-081"]
    assert http.get("/healthz").status_code == 200


def test_wrong_method_and_path(http):
    assert http.get("/validate").status_code == 405
    assert http.post("/mutate", json=review(pod())).status_code == 404
