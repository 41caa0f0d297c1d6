"""Events the sales service consumes.

- the unified customer view, into its replica (``crm.customer_view.v1``);
- the customer life cycle (``crm.customer.v1``): merges re-point opportunities to the
  survivor, unmerges bring them back, erasure anonymises them (amounts and stages,
  which are no one's personal data, stay for the figures).

``CONSUMERS`` run in the app; ``digest`` and ``states`` let operators prove a replay
identical and check the replica against the master view.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.sales import events
from services.sales.tables import Opportunity
from shared.db import utcnow
from shared.lifecycle import ERASED_TEXT, Follower, lifecycle_consumer, owned_by
from shared.replica import REPLICA_CONSUMER
from shared.replica import replica_digest as digest
from shared.replica import replica_states as states


def opportunity_moved(session: Session, tenant: str, opportunity: Opportunity, previous: uuid.UUID) -> None:
    opportunity.version += 1
    opportunity.updated_at = utcnow()
    events.opportunity_changed(session, tenant, "updated", opportunity,
                               {"customer_id": {"old": str(previous), "new": str(opportunity.customer_id)}})


def anonymise_opportunities(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    for opportunity in owned_by(session, Opportunity, tenant, [customer_id]):
        if opportunity.name != ERASED_TEXT:
            opportunity.name = ERASED_TEXT
            opportunity.version += 1
            opportunity.updated_at = utcnow()
            events.opportunity_changed(session, tenant, "updated", opportunity, {"name": {"erased": True}})


CONSUMERS = [
    REPLICA_CONSUMER,
    lifecycle_consumer([Follower(Opportunity, "opportunity", opportunity_moved, anonymise_opportunities)]),
]

__all__ = ["CONSUMERS", "digest", "states"]
