"""Prometheus metrics of one service process, on a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.requests = Counter(
            "crm_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "crm_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.published = Counter(
            "crm_outbox_published_total", "Outbox events published to Kafka", registry=self.registry
        )
        self.consumed = Counter(
            "crm_events_consumed_total", "Events applied by consumers", ["consumer"], registry=self.registry
        )
        self.dead_lettered = Counter(
            "crm_events_dead_lettered_total", "Events sent to the dead-letter topic", ["consumer"], registry=self.registry
        )
        self.consumer_join_seconds = Gauge(
            "crm_consumer_join_seconds", "Seconds from the process's start until its consumer first held its partitions",
            registry=self.registry)
        self.consumer_partitions = Gauge(
            "crm_consumer_partitions", "Partitions the worker's consumer holds now", registry=self.registry)
        # reason "stall": the watchdog closed a consumer that had lost its group; it must stay at zero.
        self.consumer_restarts = Counter(
            "crm_consumer_restarts_total", "Times the worker's Kafka consumer was created again", ["reason"],
            registry=self.registry)
        self.consumer_orphaned_joins = Counter(
            "crm_consumer_orphaned_joins_total", "Group joins the Kafka client left unfinished and the consumer finished",
            registry=self.registry)
        self.outbox_pending = Gauge("crm_outbox_pending", "Outbox rows not yet published", registry=self.registry)
        self.info = Gauge("crm_service_info", "Service identity", ["service"], registry=self.registry)
        self.info.labels(**labels).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
