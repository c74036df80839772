"""The ASGI app: `POST /validate`, `/healthz`, `/readyz`, `/metrics`.

Policies are compiled when the app starts, before uvicorn accepts a
connection. When they cannot be compiled the app still serves: `/readyz`
answers 503 with the reason and reviews get the failure mode, so Kubernetes
sends no traffic to a replica that cannot judge it and the reason is one
request away. Each review is decided in a
worker thread under the profile's time budget (`webhook.timeout_s`); when
the budget runs out, or more than `webhook.max_in_flight` reviews are
waiting, the answer is the failure mode at once, with a message that says
why: the API server never waits past its own timeout on cdgate. Bodies that
are not an AdmissionReview v1 in JSON get a 4xx and never reach a gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from scanner.engines.per_thread import reraise_interrupts
from scanner.findings import Finding, Outcome
from scanner.webhook.decision import Admitter, Decision, summary
from scanner.webhook.jsonlog import logger
from scanner.webhook.metrics import WebhookMetrics
from scanner.webhook.namespaces import NamespaceLabelStore
from scanner.webhook.policy_report import PolicyReportWriter
from scanner.webhook.review import Review, ReviewError, answer, parse_review
from scanner.webhook.settings import FAIL_ALLOW, WebhookSettings
from scanner.webhook.tls import CertificateReloader

#: Audit annotation (recorded in the API server's audit log) listing every finding, bounded.
FINDINGS_ANNOTATION = "findings"
MAX_ANNOTATION_CHARS = 8000


@dataclass
class WebhookState:
    """What the routes share: settings, metrics, the admitter once compiled, and the helpers."""

    settings: WebhookSettings
    build_admitter: Callable[[], Admitter]
    threads: int = 8
    metrics: WebhookMetrics = field(default_factory=WebhookMetrics)
    reloader: CertificateReloader | None = None
    namespace_store: NamespaceLabelStore | None = None
    policy_reports: PolicyReportWriter | None = None
    watch_interval_s: float = 2.0
    admitter: Admitter | None = None
    startup_error: str | None = None
    executor: ThreadPoolExecutor | None = None


def create_app(state: WebhookState) -> Starlette:
    """The webhook app over `state`; policies compile when it starts."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.executor = ThreadPoolExecutor(max_workers=state.threads, thread_name_prefix="cdgate-review")
        # uvicorn accepts connections only after start-up: a worker that is still compiling takes no review
        # (with --workers N, the others answer), and a replica's probes fail until its policies are compiled.
        # Compiling here, on the loop's own thread, also keeps the regorus engine it parses with on a thread
        # that outlives it (regorus objects must be dropped on the thread that made them).
        _compile(state)
        if state.admitter is not None:
            await asyncio.get_running_loop().run_in_executor(None, _warm_threads, state)
        watcher = asyncio.create_task(_watch_files(state))
        try:
            yield
        finally:
            watcher.cancel()
            # Reviews in flight were drained by uvicorn; let the pool's threads end (and drop their engines) now.
            executor = state.executor
            await asyncio.get_running_loop().run_in_executor(None, lambda: executor.shutdown(wait=True, cancel_futures=True))

    async def validate(request: Request) -> Response:
        return await _validate(state, request)

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(_request: Request) -> Response:
        if state.admitter is not None:
            return PlainTextResponse("ready\n")
        reason = state.startup_error or "compiling policies"
        return PlainTextResponse(f"not ready: {reason}\n", status_code=503)

    async def metrics(_request: Request) -> Response:
        return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/validate", validate, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.webhook = state
    return app


def _compile(state: WebhookState) -> None:
    started = time.perf_counter()
    try:
        state.admitter = state.build_admitter()
    except BaseException as exc:  # a broken policy (or a regorus panic) keeps the replica unready, with the reason
        reraise_interrupts(exc)
        state.startup_error = f"policies could not be compiled: {exc}"
        logger().error("not ready", extra={"fields": {"error": state.startup_error}})
        return
    logger().info(
        "policies compiled; ready",
        extra={"fields": {"seconds": round(time.perf_counter() - started, 3), "gates": [g.name for g in state.admitter.gates]}},
    )


def _warm_threads(state: WebhookState) -> None:
    """Start every review thread now and build its engines, so no review pays for that.

    Each task waits at a barrier until all have started, which makes the pool start one thread per task.
    """
    executor, admitter = state.executor, state.admitter
    if executor is None or admitter is None:
        return
    barrier = threading.Barrier(state.threads)

    def warm() -> None:
        try:
            admitter.warm_up()
        except Exception as exc:  # noqa: BLE001 - the first review on this thread will build them, or fail closed
            logger().warning("warm-up failed", extra={"fields": {"error": str(exc)}})
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass

    started = time.perf_counter()
    for future in [executor.submit(warm) for _ in range(state.threads)]:
        future.result()
    logger().info("review threads ready", extra={"fields": {"threads": state.threads, "seconds": round(time.perf_counter() - started, 3)}})


async def _watch_files(state: WebhookState) -> None:
    """Reload the serving certificate and the namespace-labels file when they change."""
    while True:
        await asyncio.sleep(state.watch_interval_s)
        if state.reloader is not None:
            result = state.reloader.check()
            if result.changed:
                logger().info("TLS certificate reloaded", extra={"fields": {"cert": str(state.reloader.cert_file)}})
            elif result.error:
                logger().error("TLS certificate not reloaded", extra={"fields": {"error": result.error}})
        if state.namespace_store is not None and state.namespace_store.reload_file_if_changed():
            logger().info("namespace labels reloaded")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ReviewError(413, f"AdmissionReview of {declared} bytes is over webhook.max_request_bytes ({limit})")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ReviewError(413, f"AdmissionReview is over webhook.max_request_bytes ({limit})")
    return bytes(body)


async def _validate(state: WebhookState, request: Request) -> Response:
    started = time.perf_counter()
    settings = state.settings
    try:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise ReviewError(415, f"content type {media_type or '(none)'!r} is not application/json")
        review = parse_review(await _read_body(request, settings.max_request_bytes))
    except ReviewError as exc:
        state.metrics.inc("cdgate_webhook_invalid_reviews_total", status=str(exc.status))
        logger().warning("review refused", extra={"fields": {"status": exc.status, "error": exc.message}})
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    decision, failure = await _decide_within_budget(state, review, started)
    elapsed = time.perf_counter() - started
    _record(state, review, decision, failure, elapsed)
    body = answer(review.uid, decision.allowed, decision.message, decision.warnings)
    if decision.findings:
        body["response"]["auditAnnotations"] = {FINDINGS_ANNOTATION: findings_annotation(decision.findings)}
    return JSONResponse(body)


def findings_annotation(findings: list[Finding]) -> str:
    """The findings as compact JSON for the API server's audit log, at most MAX_ANNOTATION_CHARS long.

    When they do not all fit, the list ends with `{"omitted": N}`.
    """
    kept: list[dict[str, Any]] = []
    size = 2
    for index, finding in enumerate(findings):
        entry = summary(finding)
        entry_size = len(json.dumps(entry, separators=(",", ":"))) + 1
        if size + entry_size > MAX_ANNOTATION_CHARS - 20:
            kept.append({"omitted": len(findings) - index})
            break
        kept.append(entry)
        size += entry_size
    return json.dumps(kept, separators=(",", ":"))


async def _decide_within_budget(state: WebhookState, review: Review, started: float) -> tuple[Decision, str | None]:
    """The decision, or the failure mode with the reason (not_ready, overload, timeout, error)."""
    settings = state.settings
    admitter, executor = state.admitter, state.executor
    if admitter is None or executor is None:
        why = state.startup_error or "cdgate is still compiling its policies"
        return _failure(settings, review, f"cdgate is not ready: {why}"), "not_ready"
    if state.metrics.in_flight >= settings.max_in_flight:
        return _failure(settings, review, f"cdgate is overloaded: {settings.max_in_flight} reviews are already "
                        "in flight (webhook.max_in_flight); add replicas or raise the limit"), "overload"
    state.metrics.add_in_flight(1)
    deadline = started + settings.timeout_s
    future = asyncio.get_running_loop().run_in_executor(executor, _evaluate, state, admitter, review, deadline)
    future.add_done_callback(lambda done: _finished(state, done))  # a timed-out evaluation still counts until it ends
    remaining = settings.timeout_s - (time.perf_counter() - started)
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout=max(remaining, 0.001)), None
    except (asyncio.TimeoutError, TimeoutError):
        return _failure(settings, review, f"cdgate did not finish evaluating within its time budget of "
                        f"{settings.timeout_s:g}s (webhook.timeout_s), for example waiting on an image registry; "
                        "retry, and if it persists check the registries and cdgate's /metrics"), "timeout"
    except Exception as exc:  # noqa: BLE001 - an unexpected failure is answered, never a crash
        logger().exception("evaluation failed", extra={"fields": {"uid": review.uid}})
        return _failure(settings, review, f"cdgate failed while evaluating: {type(exc).__name__}: {exc}"), "error"


def _finished(state: WebhookState, future: asyncio.Future[Decision]) -> None:
    state.metrics.add_in_flight(-1)
    if not future.cancelled() and isinstance(future.exception(), BudgetSpent):
        state.metrics.inc("cdgate_webhook_failure_mode_total", reason="skipped_after_timeout")


class BudgetSpent(Exception):
    """The review waited in the queue past its budget: it has been answered already, so it is not evaluated."""


def _evaluate(state: WebhookState, admitter: Admitter, review: Review, deadline: float) -> Decision:
    if time.perf_counter() >= deadline:
        raise BudgetSpent(review.uid)  # under overload, do not spend CPU on answers nobody waits for
    decision = admitter.decide(review)
    if state.policy_reports is not None and decision.audited and not review.dry_run:
        try:
            state.policy_reports.write(review, decision)
        except Exception as exc:  # noqa: BLE001 - a report that cannot be written does not change the answer
            logger().error("policy report not written", extra={"fields": {"uid": review.uid, "error": str(exc)}})
    return decision


def _failure(settings: WebhookSettings, review: Review, why: str) -> Decision:
    allowed = settings.failure_mode == FAIL_ALLOW
    resource = review.resource or "the object"
    if allowed:
        return Decision(True, reason="failure", warnings=[f"{why}; {resource} allowed because webhook.failure_mode is allow"])
    return Decision(False, reason="failure", message=f"{why}; {resource} is denied because webhook.failure_mode is deny")


def _outcome_label(finding: Finding, decision: Decision) -> str:
    if finding.outcome is Outcome.ERROR:
        return "error"
    if finding.waived:
        return "waived"
    if any(finding is f for f in decision.denied):
        return "deny"
    if any(finding is f for f in decision.audited):
        return "audit"
    return "warn"


def _record(state: WebhookState, review: Review, decision: Decision, failure: str | None, elapsed: float) -> None:
    metrics = state.metrics
    metrics.observe_latency(elapsed)
    answer_label = "allowed" if decision.allowed else "denied"
    metrics.inc("cdgate_webhook_requests_total", operation=review.operation, answer=answer_label, reason=decision.reason)
    if failure is not None:
        metrics.inc("cdgate_webhook_failure_mode_total", reason=failure)
    outcomes: dict[str, str] = {}
    for finding in decision.findings:
        outcome = _outcome_label(finding, decision)
        metrics.inc("cdgate_webhook_decisions_total", rule=finding.rule_id, outcome=outcome)
        outcomes.setdefault(finding.rule_id, outcome)
    fields: dict[str, Any] = {
        "uid": review.uid,
        "operation": review.operation,
        "resource": review.resource,
        "user": review.user_info.get("username"),
        "dry_run": review.dry_run,
        "allowed": decision.allowed,
        "reason": failure or decision.reason,
        "rules": outcomes,
        "duration_ms": round(elapsed * 1000, 3),
    }
    if decision.message and not decision.allowed:
        fields["denial"] = decision.message
    logger().info("admission review answered", extra={"fields": fields})
