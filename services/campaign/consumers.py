"""Events the campaign service consumes: the unified customer view, into its replica.

``CONSUMERS`` run in the app; ``digest`` and ``states`` let operators prove a replay
identical and check the replica against the master view (``crm replay``,
``crm check-consistency``).
"""

from __future__ import annotations

from shared.replica import REPLICA_CONSUMER
from shared.replica import replica_digest as digest
from shared.replica import replica_states as states

CONSUMERS = [REPLICA_CONSUMER]

__all__ = ["CONSUMERS", "digest", "states"]
