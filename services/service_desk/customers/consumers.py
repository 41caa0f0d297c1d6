"""The customer service's events the service desk consumes.

- the unified customer view, into the replica (``crm.customer_view.v1``);
- the customer life cycle (``crm.customer.v1``): each feature whose records belong to a
  customer hands in its ``Follower``, which says how its records move with a merge, come
  back with an unmerge and lose their personal data with an erasure.
"""

from __future__ import annotations

from services.service_desk import contract
from services.service_desk.customers.repository import REPLICA
from services.service_desk.customers.tables import Repointing
from shared.consumer import ConsumerSpec
from shared.lifecycle import Follower, LifecycleEvents, lifecycle_consumer

VIEW_REPLICA = REPLICA.consumer()

LIFECYCLE = LifecycleEvents(merged=contract.CUSTOMER_MERGED, unmerged=contract.CUSTOMER_UNMERGED,
                            erased=contract.CUSTOMER_ERASED)


def following(followers: list[Follower]) -> ConsumerSpec:
    """The consumer that keeps the followers' records with the right customer."""
    return lifecycle_consumer(followers, events=LIFECYCLE, repointing=Repointing, replica=REPLICA)
