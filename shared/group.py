"""A worker consumer's group membership: joining fast, finishing every join, and knowing when it is stuck.

Why this exists (kafka-python 3.0.12, the newest release; the cause of the consumer stall
found with ``tests/faults``): ``KafkaConsumer.poll(timeout_ms)`` drives a group join only
while the coordinator ``need_rejoin()``. When the group leader rebalances because its
metadata changed (its first assignment was made before the metadata of its topics had
arrived, or a topic grew partitions), that flag comes from the metadata snapshot alone, and
the leader's own assignment, computed inside the join, makes the snapshots equal again. If
the poll's timer ran out before the SyncGroup answer came back, no later poll awaits the
join: the member stays "rebalancing" with heartbeats disabled, the broker expires it, and
the consumer polls an empty assignment for ever. Restarting the system hit it about once
in twenty starts (a worker 30 s behind until the watchdog restarted it).

The remedy here: after every poll, a join the client left in flight is marked as needing
a rejoin, so the next poll awaits it (or sends it again) and the assignment completes; the
consumer also waits for its topics' metadata before its first join, so a start makes one
join, not two. ``tests/integration/test_group.py`` reproduces the stall and its cure on the
real broker.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

from kafka import KafkaConsumer
from kafka.coordinator.base import MemberState

log = logging.getLogger(__name__)


def finish_orphaned_join(consumer: KafkaConsumer) -> bool:
    """Have the next poll finish a group join the client stopped driving; True if there was one."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None or getattr(coordinator, "_join_task", None) is None or coordinator.need_rejoin():
        return False
    coordinator.request_rejoin()
    return True


def member_stable(consumer: KafkaConsumer) -> bool:
    """Whether the consumer is a settled member of its group: coordinator known, join finished.

    It then holds what the group gave it, which for one member per group is every partition
    and for more members than partitions may be none (an idle replica is not a stuck one).
    """
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None:
        return bool(consumer.assignment())  # a client without the attribute is taken at its word
    return (coordinator.state is MemberState.STABLE and not coordinator.coordinator_unknown()
            and not coordinator.need_rejoin())


def await_metadata(consumer: KafkaConsumer, topics: list[str]) -> None:
    """Fetch the metadata of the subscribed topics before the first join (one join instead of two)."""
    for topic in topics:
        # Blocks until the cluster answers for the topic; None when it does not exist (yet).
        if consumer.partitions_for_topic(topic) is None:
            log.info("topic %s has no metadata yet; the group will rebalance when it appears", topic)


def broker_reachable(bootstrap_servers: str, timeout: float = 1.0) -> bool:
    """Whether any bootstrap broker accepts a TCP connection."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


@dataclass
class StallClock:
    """Decides when the last resort applies: out of the group for ``seconds`` while a broker answers.

    While no broker answers, recreating the client would change nothing, so that time does
    not count: a broker down for an hour is an outage, not a stall.
    """

    seconds: float
    _since: float | None = None

    def stalled(self, now: float, *, in_group: bool, broker_up: bool) -> bool:
        if in_group or not broker_up:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        return now - self._since > self.seconds
