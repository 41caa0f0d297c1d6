"""The Kafka topic catalog (see the public contract) and its provisioning.

Topics are created explicitly rather than auto-created, because the view topic
must be compacted and every topic needs the same partition count everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.contract import TopicSpec

log = logging.getLogger(__name__)

CUSTOMER = "crm.customer.v1"
SALES = "crm.sales.v1"
SERVICE_DESK = "crm.service_desk.v1"
CAMPAIGN = "crm.campaign.v1"
CUSTOMER_VIEW = "crm.customer_view.v1"

DOMAIN_TOPICS: dict[str, str] = {
    "customer": CUSTOMER,
    "sales": SALES,
    "service_desk": SERVICE_DESK,
    "campaign": CAMPAIGN,
}


def dead_letter_topic(service: str) -> str:
    return f"crm.dlq.{service}.v1"


def catalog(partitions: int) -> list[NewTopic]:
    """Every topic of the system with its configuration."""
    topics = [NewTopic(name, partitions, 1) for name in DOMAIN_TOPICS.values()]
    topics.append(
        NewTopic(
            CUSTOMER_VIEW,
            partitions,
            1,
            topic_configs={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"},
        )
    )
    topics += [NewTopic(dead_letter_topic(s), 1, 1) for s in DOMAIN_TOPICS]
    return topics


def new_topics(specs: Iterable[TopicSpec], partitions: int, dead_letters: Iterable[str] = ()) -> list[NewTopic]:
    """Kafka's topic requests for a service's topics (compacted ones keep the newest value per key)."""
    topics = [NewTopic(spec.name, partitions, 1, topic_configs=COMPACTED if spec.compacted else {})
              for spec in sorted(set(specs), key=lambda spec: spec.name)]
    return topics + [NewTopic(name, 1, 1) for name in dead_letters]


COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}


def ensure_topics(bootstrap_servers: str, partitions: int = 3, topics: list[NewTopic] | None = None) -> None:
    """Create whichever of the topics do not exist yet; existing ones are left alone."""
    wanted = catalog(partitions) if topics is None else topics
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
