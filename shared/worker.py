"""The worker process of a service: its outbox relay, its consumers and its periodic jobs.

It runs from the same code and settings as the service's API, in a process of its own,
so the request path never queues behind relay and consumer work (they used to share one
interpreter lock). It serves only the ops endpoints (``/healthz``, ``/readyz``: database
and Kafka, ``/metrics``) on ``<SERVICE>_WORKER_PORT`` and listens for its API's wake-up
after each commit (``shared.wakeup``). Kafka clients are created in the lifespan, never
at import time, and stopped again on shutdown.

A service's ``worker.py`` builds it with ``create_worker_app`` and can be started with
``python -m services.<name>.worker`` (``run_worker``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI
from kafka.admin import NewTopic

from shared.consumer import ConsumerSpec, EventConsumer
from shared.contract import TopicSpec
from shared.db import make_engine, make_sessions
from shared.http import PURGE_IDEMPOTENCY_KEYS
from shared.jobs import JobRunner, PeriodicJob
from shared.logs import configure_logging
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay, make_producer
from shared.process import settle_heap
from shared.service import database_readiness, ops_app
from shared.settings import Settings
from shared.topics import TopicLayout, dead_letter_topic, ensure_topics, new_topics
from shared.wakeup import WakeListener

log = logging.getLogger(__name__)


def create_worker_app(*, settings: Settings, consumers: list[ConsumerSpec], jobs: tuple[PeriodicJob, ...] = (),
                      topics: tuple[TopicSpec, ...]) -> FastAPI:
    """The worker of one service: ``topics`` are what it produces to and consumes from (its contract's
    ``TOPICS``), created at start together with its dead-letter topic."""
    metrics = ServiceMetrics(settings.service)
    jobs = (*jobs, PURGE_IDEMPOTENCY_KEYS)
    layout = TopicLayout(partitions=settings.topic_partitions, replication=settings.topic_replication_factor,
                         min_insync_replicas=settings.topic_min_insync_replicas, retention_ms=settings.topic_retention_ms)
    kafka_topics = new_topics(topics, layout, [dead_letter_topic(settings.service)])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        engine = make_engine(settings.database_url)
        app.state.sessions = make_sessions(engine)
        workers = _start_workers(app, settings, metrics, consumers, jobs, kafka_topics)
        app.state.workers = workers
        listener = WakeListener(settings, workers.relay.wake)
        listener.start()
        settle_heap()
        try:
            yield
        finally:
            listener.stop()
            workers.stop()
            engine.dispose()

    return ops_app(settings, metrics, title=f"OneView CRM: {settings.service} worker",
                   description="Outbox relay, consumers and periodic jobs of the service.", lifespan=lifespan,
                   readiness=_readiness)


def run_worker(create: Callable[[], FastAPI]) -> None:
    """``python -m services.<name>.worker``: serve the worker on its settings' host and port."""
    app = create()
    settings: Settings = app.state.settings
    uvicorn.run(app, host=settings.worker_host, port=settings.worker_port, log_level="warning")


@dataclass
class Workers:
    relay: OutboxRelay
    # One Kafka consumer for all of the service's consumer specs (none if it has no specs).
    consumer: EventConsumer | None = None
    jobs: list[JobRunner] = field(default_factory=list)
    topics_ready: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stopping.set()
        for job in self.jobs:
            job.stop()
        if self.consumer is not None:
            self.consumer.stop()
        self.relay.stop()


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
    # One client and one group for the whole worker: each spec still has its own dedupe namespace.
    if specs:
        workers.consumer = EventConsumer(
            name="worker",
            service=settings.service,
            specs=specs,
            group_id=f"{settings.consumer_group_prefix}.{settings.service}",
            bootstrap_servers=settings.kafka_bootstrap_servers,
            sessions=app.state.sessions,
            producer_factory=producer,  # type: ignore[arg-type]
            dead_letter_topic=dead_letter_topic(settings.service),
            metrics=metrics,
            max_attempts=settings.consumer_max_attempts,
            session_timeout_ms=settings.consumer_session_timeout_ms,
            stall_seconds=settings.consumer_stall_seconds,
            on_commit=relay.wake,
        )
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
    if workers.consumer is not None:
        workers.consumer.start()


def _readiness(app: FastAPI) -> dict[str, bool]:
    """Ready once the database answers, Kafka does, and the consumer holds its partitions: a worker
    that has not joined its group yet applies nothing, so it must not be reported ready."""
    workers: Workers = app.state.workers
    consumer = workers.consumer
    kafka = workers.topics_ready.is_set() and workers.relay.healthy and (consumer is None or consumer.healthy)
    partitions = consumer is None or consumer.holds_partitions
    return database_readiness(app) | {"kafka": kafka, "partitions": partitions}
