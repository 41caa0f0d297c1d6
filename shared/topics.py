"""Provisioning of the topics a service declares in its contract (``TOPICS``), and its dead-letter topic.

Topics are created explicitly rather than auto-created, because a view topic must be
compacted and every topic needs the same partition count everywhere. A service creates
what it produces and what it consumes, so it never waits on another to start first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.contract import TopicSpec

log = logging.getLogger(__name__)

# Every client of ours retries a lost broker at least once a second. kafka-python's default lets the
# pause grow to 30 s, so a broker down for ten seconds left producers and consumers idle for another
# ten to twenty after it was back (the broker-restart scenario of tests/faults); Java's default is 1 s.
RECONNECT_BACKOFF_MAX_MS = 1000


def dead_letter_topic(service: str) -> str:
    return f"crm.dlq.{service}.v1"


@dataclass(frozen=True)
class TopicLayout:
    """How a service creates the topics it finds missing: the settings' ``topic_*`` values.

    The defaults suit the single local broker. A cluster sets a replication of 3 with two
    in-sync replicas (or provisions the topics first, as ``deploy/`` does). Domain and
    dead-letter topics are kept for ever by default: ``crm replay`` rebuilds a projection
    from offset zero, which a time limit would make impossible after a week.
    """

    partitions: int = 3
    replication: int = 1
    min_insync_replicas: int = 1
    retention_ms: int = -1


def new_topics(specs: Iterable[TopicSpec], layout: TopicLayout, dead_letters: Iterable[str] = ()) -> list[NewTopic]:
    """Kafka's topic requests for a service's topics (compacted ones keep the newest value per key)."""
    shared = {"min.insync.replicas": str(layout.min_insync_replicas)}
    kept = shared | {"retention.ms": str(layout.retention_ms)}
    topics = [NewTopic(spec.name, layout.partitions, layout.replication,
                       topic_configs=shared | COMPACTED if spec.compacted else kept)
              for spec in sorted(set(specs), key=lambda spec: spec.name)]
    return topics + [NewTopic(name, 1, layout.replication, topic_configs=kept) for name in dead_letters]


COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}


def ensure_topics(bootstrap_servers: str, topics: list[NewTopic]) -> None:
    """Create whichever of the topics do not exist yet; existing ones are left alone."""
    wanted = topics
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="crm-topics")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if not missing:
            return
        try:
            admin.create_topics(missing)
        except TopicAlreadyExistsError:
            # Another service created it between our listing and our request: fine.
            pass
        log.info("created topics %s", [t.name for t in missing])
    finally:
        admin.close()
