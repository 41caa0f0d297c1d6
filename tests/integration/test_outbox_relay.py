"""The outbox relay's own loop against the real broker: a backlog of many batches goes out whole, in order,
and a batch whose acknowledgement fails is sent again rather than marked published."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions
from shared.envelope import parse_event
from shared.outbox import OutboxRelay, append_event, make_producer, pending_count
from tests.support.databases import create_postgres_database, drop_postgres_database
from tests.support.system import System

pytestmark = pytest.mark.integration

BATCH = 100
EVENTS = 1_050  # ten full batches and a short one


@pytest.fixture
def outbox(system: System, tmp_path: Any) -> Iterator[sessionmaker[Session]]:
    """A database holding only an outbox, on the system's backend."""
    if system.backend == "postgresql":
        assert system.postgres_admin_url is not None
        url = create_postgres_database(system.postgres_admin_url, "crm_test_outbox")
    else:
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = make_engine(url)
    PLATFORM_METADATA.create_all(engine, tables=[OutboxRecord.__table__])  # type: ignore[list-item]
    try:
        yield make_sessions(engine)
    finally:
        engine.dispose()
        if system.backend == "postgresql":
            drop_postgres_database(system.postgres_admin_url, url)  # type: ignore[arg-type]


def _backlog(sessions: sessionmaker[Session], topic: str) -> None:
    for start in range(0, EVENTS, 250):
        with sessions.begin() as session:
            for n in range(start, min(start + 250, EVENTS)):
                append_event(session, topic=topic, event_type="crm.customer.updated.v1", subject=f"c-{n % 7}",
                             tenant="t-relay", data={"n": n}, flush=False)


def _topic(system: System) -> str:
    name = f"test.relay.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=system.kafka.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    return name


def _sequences_on(system: System, topic: str) -> list[int]:
    consumer = KafkaConsumer(bootstrap_servers=system.kafka.bootstrap_servers, enable_auto_commit=False)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        found: list[int] = []
        while consumer.position(partition) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                found += [parse_event(r.value).sequence for r in records]
        return found
    finally:
        consumer.close()


def _relay(system: System, sessions: sessionmaker[Session], factory: Any = None) -> OutboxRelay:
    return OutboxRelay(service="customer", sessions=sessions, batch_size=BATCH,
                       producer_factory=factory or (lambda: make_producer(system.kafka.bootstrap_servers, "test-relay")))


def test_a_backlog_of_many_batches_goes_out_whole_and_in_sequence_order(
        system: System, outbox: sessionmaker[Session]) -> None:
    topic = _topic(system)
    _backlog(outbox, topic)
    relay = _relay(system, outbox)
    try:
        assert relay.publish_pending() == EVENTS
    finally:
        relay._drop_producer()
    with outbox() as session:
        assert pending_count(session) == 0
    assert _sequences_on(system, topic) == list(range(1, EVENTS + 1))


class _FailingOnce:
    """A real producer, except that one send's acknowledgement never comes (as when the broker goes away)."""

    def __init__(self, producer: Any, failing_send: int) -> None:
        self._producer, self._failing_send, self._sends = producer, failing_send, 0

    def send(self, *args: Any, **kwargs: Any) -> Any:
        self._sends += 1
        future = self._producer.send(*args, **kwargs)
        return _Unacknowledged() if self._sends == self._failing_send else future

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)


class _Unacknowledged:
    def get(self, timeout: float | None = None) -> Any:
        raise KafkaTimeoutError("no acknowledgement")


def test_a_batch_whose_acknowledgement_fails_is_sent_again_not_marked(
        system: System, outbox: sessionmaker[Session]) -> None:
    topic = _topic(system)
    _backlog(outbox, topic)
    # The 4th batch fails while later ones are already out: none of them may be marked published.
    flaky = _relay(system, outbox, lambda: _FailingOnce(make_producer(system.kafka.bootstrap_servers, "t-flaky"),
                                                        failing_send=3 * BATCH + 1))
    try:
        with pytest.raises(KafkaTimeoutError):
            flaky.publish_pending()
    finally:
        flaky._drop_producer()
    with outbox() as session:
        assert pending_count(session) == EVENTS - 3 * BATCH
    relay = _relay(system, outbox)
    try:
        assert relay.publish_pending() == EVENTS - 3 * BATCH
    finally:
        relay._drop_producer()
    with outbox() as session:
        assert pending_count(session) == 0
    sent = _sequences_on(system, topic)
    assert set(sent) == set(range(1, EVENTS + 1))  # nothing lost; the unmarked batches went out twice
    assert sent[-(EVENTS - 3 * BATCH):] == list(range(3 * BATCH + 1, EVENTS + 1))  # the resend is in order
