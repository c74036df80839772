"""AdmissionReview (admission.k8s.io/v1) in and out.

`parse_review` turns a request body into a `Review` or raises `ReviewError`
with the HTTP status to answer (400 for a body that is not an
AdmissionReview v1 at all, since there is no uid to answer). `answer` builds
the response review. Nothing here evaluates policies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
#: The API server keeps at most this many characters of one warning; longer ones are cut here with "…".
MAX_WARNING_CHARS = 256
#: Kubernetes drops warnings past about 4 KiB in total; cdgate stops before and says how many it left out.
MAX_WARNINGS_TOTAL_CHARS = 4000


class ReviewError(Exception):
    """A body that cannot be answered as a review: the HTTP status and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Review:
    """The parts of `request` the webhook reads."""

    uid: str
    operation: str
    kind: str
    namespace: str | None
    name: str | None
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None
    user_info: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def subject(self) -> dict[str, Any] | None:
        """The object the policies judge: the new object, or the old one on DELETE."""
        return self.old_object if self.operation == "DELETE" else self.object

    @property
    def resource(self) -> str:
        """`Kind/namespace/name` for logs and messages."""
        return "/".join(p for p in (self.kind, self.namespace, self.name) if p)


def parse_review(body: bytes) -> Review:
    """The review in `body`; `ReviewError(400, ...)` when it is not an AdmissionReview v1 request."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewError(400, f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ReviewError(400, "body is not a JSON object (expected an AdmissionReview)")
    if data.get("kind") != KIND or data.get("apiVersion") != API_VERSION:
        raise ReviewError(
            400,
            f"expected kind {KIND} apiVersion {API_VERSION}, got kind {data.get('kind')!r} apiVersion "
            f"{data.get('apiVersion')!r}; set admissionReviewVersions: [v1] in the ValidatingWebhookConfiguration",
        )
    request = data.get("request")
    if not isinstance(request, dict):
        raise ReviewError(400, "AdmissionReview has no request object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise ReviewError(400, "AdmissionReview request has no uid")
    operation = request.get("operation")
    if operation not in OPERATIONS:
        raise ReviewError(400, f"request.operation {operation!r} is not one of {', '.join(OPERATIONS)}")
    kind = request.get("kind")
    obj, old = request.get("object"), request.get("oldObject")
    user_info = request.get("userInfo")
    return Review(
        uid=uid,
        operation=operation,
        kind=str(kind.get("kind") or "") if isinstance(kind, dict) else "",
        namespace=_text(request.get("namespace")),
        name=_text(request.get("name")),
        object=obj if isinstance(obj, dict) else None,
        old_object=old if isinstance(old, dict) else None,
        user_info=user_info if isinstance(user_info, dict) else {},
        dry_run=request.get("dryRun") is True,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def answer(uid: str, allowed: bool, message: str | None = None, warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The response AdmissionReview; a denial carries status 403 with `message`."""
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": message or "denied by cdgate"}
    elif message:
        response["status"] = {"code": 200, "message": message}
    bounded = bound_warnings(warnings)
    if bounded:
        response["warnings"] = bounded
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}


def bound_warnings(warnings: Sequence[str]) -> list[str]:
    """Warnings cut to what the API server keeps, ending in a count of those left out."""
    out: list[str] = []
    total = 0
    for index, text in enumerate(warnings):
        one = " ".join(text.split())
        if len(one) > MAX_WARNING_CHARS:
            one = one[: MAX_WARNING_CHARS - 1] + "…"
        if total + len(one) > MAX_WARNINGS_TOTAL_CHARS - 80:
            out.append(f"cdgate: {len(warnings) - index} more warning(s) not shown; run cdgate check for all")
            break
        out.append(one)
        total += len(one)
    return out
