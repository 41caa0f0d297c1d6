"""The app factory every service is built with: one lifespan, one set of conventions.

A service hands over its settings, its router and the consumers it runs; this module
adds the problem handlers, the ops endpoints (``/healthz``, ``/readyz``, ``/metrics``),
request metrics, and a lifespan that opens the database, provisions the topics and
starts the outbox relay, the consumers (Kafka clients are created here, never at
import time) and any periodic jobs, and stops them again on shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from kafka.admin import NewTopic
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import VerifiedTokens
from shared.consumer import ConsumerSpec, EventConsumer
from shared.db import make_engine, make_sessions
from shared.contract import TopicSpec
from shared.http import PURGE_IDEMPOTENCY_KEYS, UnitOfWorkRoute
from shared.jobs import JobRunner, PeriodicJob
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay, make_producer, pending_count
from shared.problems import install_problem_handlers
from shared.process import settle_heap
from shared.settings import Settings
from shared.topics import dead_letter_topic, ensure_topics, new_topics

log = logging.getLogger(__name__)


@dataclass
class Workers:
    relay: OutboxRelay
    consumers: list[EventConsumer] = field(default_factory=list)
    jobs: list[JobRunner] = field(default_factory=list)
    topics_ready: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stopping.set()
        for job in self.jobs:
            job.stop()
        for consumer in self.consumers:
            consumer.stop()
        self.relay.stop()


def create_service_app(
    *, settings: Settings, title: str, description: str, routers: tuple[APIRouter, ...],
    consumers: list[ConsumerSpec], jobs: tuple[PeriodicJob, ...] = (), topics: tuple[TopicSpec, ...],
) -> FastAPI:
    """One service's app: its feature routers under ``/v1``, its consumers, jobs and topics.

    ``topics``: what the service produces to and consumes from (its contract's ``TOPICS``),
    created at start together with its dead-letter topic.
    """
    metrics = ServiceMetrics(settings.service)
    jobs = (*jobs, PURGE_IDEMPOTENCY_KEYS)
    kafka_topics = new_topics(topics, settings.topic_partitions, [dead_letter_topic(settings.service)])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine  # for single-statement reads that need no session
        app.state.sessions = make_sessions(engine)
        workers = _start_workers(app, settings, metrics, consumers, jobs, kafka_topics)
        app.state.relay = workers.relay
        app.state.workers = workers
        settle_heap()
        try:
            yield
        finally:
            workers.stop()
            engine.dispose()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.tokens = VerifiedTokens(secret=settings.jwt_secret, issuer=settings.jwt_issuer)
    install_problem_handlers(app)
    _install_request_metrics(app, metrics)
    app.include_router(_ops_router())
    for feature in routers:
        _require_units_of_work(feature)
        app.include_router(feature, prefix="/v1")
    return app


def _require_units_of_work(router: APIRouter) -> None:
    """Refuse to build an app with a route outside a unit of work: its writes would never commit."""
    stray = [route.path for route in router.routes if isinstance(route, APIRoute) and not isinstance(route, UnitOfWorkRoute)]
    if stray:
        raise TypeError(f"routes {stray} are not on a feature_router (shared.http): they have no unit of work")


def _start_workers(app: FastAPI, settings: Settings, metrics: ServiceMetrics, specs: list[ConsumerSpec],
                   jobs: tuple[PeriodicJob, ...], topics: list[NewTopic]) -> Workers:
    def producer() -> object:
        return make_producer(settings.kafka_bootstrap_servers, f"crm-{settings.service}")

    relay = OutboxRelay(
        service=settings.service,
        sessions=app.state.sessions,
        producer_factory=producer,  # type: ignore[arg-type]
        batch_size=settings.relay_batch_size,
        idle_poll_seconds=settings.relay_idle_poll_seconds,
        on_published=metrics.published.inc,
    )
    workers = Workers(relay=relay)
    workers.consumers = [
        EventConsumer(
            name=spec.name,
            service=settings.service,
            topics=spec.topics,
            group_id=f"{settings.consumer_group_prefix}.{settings.service}.{spec.name}",
            bootstrap_servers=settings.kafka_bootstrap_servers,
            sessions=app.state.sessions,
            handle=spec.handle,
            prepare=spec.prepare,
            types=spec.types,
            producer_factory=producer,  # type: ignore[arg-type]
            dead_letter_topic=dead_letter_topic(settings.service),
            metrics=metrics,
            max_attempts=settings.consumer_max_attempts,
            accepts_tombstones=spec.accepts_tombstones,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            on_commit=relay.wake,
        )
        for spec in specs
    ]
    workers.jobs = [JobRunner(job, app.state.sessions, settings) for job in jobs if job.interval(settings) > 0]
    for job in workers.jobs:
        job.start()
    # Topics come first (the view topic must be created compacted, not auto-created);
    # until Kafka answers, writes still commit to the outbox and wait there.
    threading.Thread(
        target=_provision_then_start, args=(settings, workers, topics), name=f"{settings.service}-startup", daemon=True
    ).start()
    return workers


def _provision_then_start(settings: Settings, workers: Workers, topics: list[NewTopic]) -> None:
    delay = 0.5
    while not workers.stopping.is_set():
        try:
            ensure_topics(settings.kafka_bootstrap_servers, topics)
            break
        except Exception as exc:  # noqa: BLE001 - Kafka may come up after us
            log.warning("Kafka not ready for %s (%s); retrying", settings.service, exc)
            workers.stopping.wait(delay)
            delay = min(delay * 2, 5.0)
    if workers.stopping.is_set():
        return
    workers.topics_ready.set()
    workers.relay.start()
    for consumer in workers.consumers:
        consumer.start()


def _install_request_metrics(app: FastAPI, metrics: ServiceMetrics) -> None:
    # A plain ASGI middleware: Starlette's BaseHTTPMiddleware (``@app.middleware("http")``)
    # runs every request in an extra task with memory streams, which cost the unified-view
    # read about a third of its throughput (bench/results/latest.md).
    app.add_middleware(RequestMetrics, metrics=metrics)


class RequestMetrics:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
            self.metrics.requests.labels(scope["method"], template, str(status)).inc()


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="The database and Kafka are reachable", response_model=None)
    def readyz(request: Request) -> JSONResponse:
        checks = _readiness(request.app)
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def prometheus(request: Request) -> Response:
        app = request.app
        try:
            with app.state.sessions() as session:
                app.state.metrics.outbox_pending.set(pending_count(session))
        except Exception:  # noqa: BLE001 - metrics must render even with the database down
            log.debug("could not count the outbox", exc_info=True)
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    return router


def _readiness(app: FastAPI) -> dict[str, bool]:
    workers: Workers = app.state.workers
    try:
        with app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        database = True
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        database = False
    kafka = workers.topics_ready.is_set() and workers.relay.healthy and all(c.healthy for c in workers.consumers)
    return {"database": database, "kafka": kafka}
