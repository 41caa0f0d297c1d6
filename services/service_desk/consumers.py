"""Events the service desk consumes.

- the unified customer view, into its replica (``crm.customer_view.v1``);
- the customer life cycle (``crm.customer.v1``): merges re-point tickets to the
  survivor, unmerges bring them back, erasure blanks what customers wrote (subject and
  description) while the ticket, its type, priority and status stay for the figures.

``CONSUMERS`` run in the app; ``digest`` and ``states`` let operators prove a replay
identical and check the replica against the master view.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.service_desk import events
from services.service_desk.tables import Ticket
from shared.db import utcnow
from shared.lifecycle import ERASED_TEXT, Follower, lifecycle_consumer, owned_by
from shared.replica import REPLICA_CONSUMER
from shared.replica import replica_digest as digest
from shared.replica import replica_states as states


def ticket_moved(session: Session, tenant: str, ticket: Ticket, previous: uuid.UUID) -> None:
    ticket.version += 1
    ticket.updated_at = utcnow()
    events.ticket_changed(session, tenant, "updated", ticket,
                          {"customer_id": {"old": str(previous), "new": str(ticket.customer_id)}})


def anonymise_tickets(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    for ticket in owned_by(session, Ticket, tenant, [customer_id]):
        if ticket.subject != ERASED_TEXT:
            ticket.subject, ticket.description = ERASED_TEXT, ""
            ticket.version += 1
            ticket.updated_at = utcnow()
            events.ticket_changed(session, tenant, "updated", ticket, {"subject": {"erased": True}})


CONSUMERS = [
    REPLICA_CONSUMER,
    lifecycle_consumer([Follower(Ticket, "ticket", ticket_moved, anonymise_tickets)]),
]

__all__ = ["CONSUMERS", "digest", "states"]
