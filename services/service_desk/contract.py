"""The service desk's event contract: what it publishes, what it reads, the scopes it checks.

Ticket events go to ``crm.service_desk.v1``, keyed by the customer id. What it reads from
the customer service (the unified view, the customer life cycle) it names here and reads
with the models of the library mechanisms that act on it (``shared.replica``,
``shared.lifecycle``): the contract test holds those against the producer's schema.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, WithJsonSchema

from shared.contract import EventPayload, EventType, Reads, TopicSpec
from shared.lifecycle import ErasureAnnouncement, MergeAnnouncement, UnmergeAnnouncement
from shared.replica import ReplicatedView

READ_SCOPE = "service_desk:read"
WRITE_SCOPE = "service_desk:write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)

SERVICE_DESK_TOPIC = TopicSpec("crm.service_desk.v1")
CUSTOMER_TOPIC = TopicSpec("crm.customer.v1")
CUSTOMER_VIEW_TOPIC = TopicSpec("crm.customer_view.v1", compacted=True)


# --- published ---------------------------------------------------------------------------
# Vocabularies (type, priority, channel, status) are plain strings: they grow, and a new
# value must not break a reader that validates the payload.

# The offset form (+00:00) the events have always carried: the unified view keeps it as the ticket's opening time.
IsoTime = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str),
                    WithJsonSchema({"type": "string", "format": "date-time"})]


class TicketCreated(EventPayload):
    """A ticket as it is now."""

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    subject: str
    type: str
    priority: str
    channel: str
    status: str = Field(description="new, open, pending, solved or closed")
    version: int
    created_at: IsoTime


class TicketChanged(TicketCreated):
    """A ticket after a change, with what changed: ``{field: {"old": ..., "new": ...}}``.

    An erasure reports ``{"subject": {"erased": true}}`` instead of the old subject.
    """

    changes: dict[str, dict[str, Any]]


TICKET_CREATED = EventType("crm.service_desk.ticket.created.v1", SERVICE_DESK_TOPIC, TicketCreated)
TICKET_UPDATED = EventType("crm.service_desk.ticket.updated.v1", SERVICE_DESK_TOPIC, TicketChanged)
TICKET_SOLVED = EventType("crm.service_desk.ticket.solved.v1", SERVICE_DESK_TOPIC, TicketChanged)
TICKET_CLOSED = EventType("crm.service_desk.ticket.closed.v1", SERVICE_DESK_TOPIC, TicketChanged)
TICKET_REOPENED = EventType("crm.service_desk.ticket.reopened.v1", SERVICE_DESK_TOPIC, TicketChanged)
# By what a change did (``rules.event_action``); creation has its own payload.
TICKET_CHANGED: dict[str, EventType] = {
    "updated": TICKET_UPDATED, "solved": TICKET_SOLVED, "closed": TICKET_CLOSED, "reopened": TICKET_REOPENED}

PUBLISHES: tuple[EventType, ...] = (TICKET_CREATED, TICKET_UPDATED, TICKET_SOLVED, TICKET_CLOSED, TICKET_REOPENED)


# --- read from the customer service --------------------------------------------------------


VIEW_UPDATED = Reads("crm.customer.view.updated.v1", CUSTOMER_VIEW_TOPIC.name, ReplicatedView)
CUSTOMER_MERGED = Reads("crm.customer.merged.v1", CUSTOMER_TOPIC.name, MergeAnnouncement)
CUSTOMER_UNMERGED = Reads("crm.customer.unmerged.v1", CUSTOMER_TOPIC.name, UnmergeAnnouncement)
CUSTOMER_ERASED = Reads("crm.customer.erased.v1", CUSTOMER_TOPIC.name, ErasureAnnouncement)

READS: tuple[Reads, ...] = (VIEW_UPDATED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_ERASED)
# Produced and consumed: provisioned before the service starts.
TOPICS: tuple[TopicSpec, ...] = (SERVICE_DESK_TOPIC, CUSTOMER_TOPIC, CUSTOMER_VIEW_TOPIC)
