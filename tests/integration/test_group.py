"""The consumer stall's cause, reproduced on the real broker, and its cure (``shared.group``).

A group leader whose metadata changes rebalances; if no poll is left awaiting that join
when its SyncGroup answer arrives, kafka-python 3.0 never finishes it and the member
stays "rebalancing" for ever. Polling with a zero timeout makes that happen every time,
which is what slow polls at start-up (a busy machine, a broker loading its groups) did now
and then. The first test proves the client still behaves so (when a release fixes it, it
fails: the workaround can then go); the second that ``finish_orphaned_join`` cures it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewPartitions, NewTopic
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.base import MemberState

from shared.group import await_metadata, finish_orphaned_join, member_stable
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture()
def broker(system: System) -> Iterator[str]:
    if system.backend != "sqlite":
        pytest.skip("about the Kafka client alone: one broker is enough")
    yield system.kafka.bootstrap_servers


def _grown_group(bootstrap: str) -> tuple[KafkaConsumer, KafkaAdminClient, str]:
    """A consumer settled on a one-partition topic, which has just grown to three partitions."""
    topic = f"crm.group-{uuid.uuid4().hex[:8]}.v1"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"crm.{topic}", enable_auto_commit=False,
                             partition_assignment_strategy=(CooperativeStickyAssignor,), metadata_max_age_ms=300,
                             session_timeout_ms=6000, heartbeat_interval_ms=1500)
    # Settled with the cure on: the first join can itself be abandoned (its leader assigned
    # before the new topic's metadata arrived), which is the stall, not this test's subject.
    await_metadata(consumer, [topic])
    eventually(lambda: _poll_finishing_joins(consumer) and member_stable(consumer) and consumer.assignment(),
               timeout=30, what="the first assignment")
    admin.create_partitions({topic: NewPartitions(3)})
    return consumer, admin, topic


def _poll_finishing_joins(consumer: KafkaConsumer) -> bool:
    consumer.poll(timeout_ms=500)
    finish_orphaned_join(consumer)
    return True


def _abandon_a_join(consumer: KafkaConsumer, seconds: float = 20) -> bool:
    """Poll with no time to wait until the client has dropped a finished join that no poll awaited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        consumer.poll(timeout_ms=0)
        coordinator = consumer._coordinator  # noqa: SLF001 - the abandoned state is the client's own
        join = coordinator._join_task  # noqa: SLF001
        if join is not None and join.is_done and not coordinator.need_rejoin() and len(consumer.assignment()) < 3:
            return True
        time.sleep(0.01)
    return False


def test_the_kafka_client_abandons_a_leader_rejoin_that_no_poll_awaits(broker: str) -> None:
    consumer, admin, topic = _grown_group(broker)
    try:
        assert _abandon_a_join(consumer), "the client finished the join by itself: drop the workaround"
        for _ in range(20):  # polled as before, the member stays where it is
            consumer.poll(timeout_ms=300)
        assert len(consumer.assignment()) == 1
        assert consumer._coordinator.state is MemberState.REBALANCING  # noqa: SLF001 - the stuck state itself
        assert not member_stable(consumer)
    finally:
        consumer.close()
        admin.delete_topics([topic])
        admin.close()


def test_an_abandoned_join_is_finished_and_the_new_partitions_are_held(broker: str) -> None:
    consumer, admin, topic = _grown_group(broker)
    try:
        assert _abandon_a_join(consumer), "no abandoned join: the test no longer reproduces the stall"
        assert finish_orphaned_join(consumer)
        # Polled as a worker polls, the join is taken up again and completes.
        eventually(lambda: consumer.poll(timeout_ms=300) is not None and len(consumer.assignment()) == 3,
                   timeout=30, interval=0, what="the three partitions")
        eventually(lambda: consumer.poll(timeout_ms=100) is not None and member_stable(consumer), timeout=10,
                   what="the member to settle")
    finally:
        consumer.close()
        admin.delete_topics([topic])
        admin.close()
