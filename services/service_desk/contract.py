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
    type: str = Field(description="question, incident, problem, request, complaint, billing or return")
    priority: str = Field(description="low, normal, high or urgent")
    channel: str = Field(description="phone, email, web, chat, visit or partner")
    status: str = Field(description="new, open, pending_customer, pending_third_party, resolved or closed")
    version: int
    created_at: IsoTime
    queue_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    sla_state: str | None = Field(default=None, description="ok, warning, breached or paused; none without a policy")


class TicketChanged(TicketCreated):
    """A ticket after a change, with what changed: ``{field: {"old": ..., "new": ...}}``.

    An erasure reports ``{"subject": {"erased": true}}`` instead of the old subject.
    """

    changes: dict[str, dict[str, Any]]


class TicketCommented(TicketCreated):
    """A comment on a ticket: a public reply (agent or customer) or an internal note. The text stays in the
    service desk (it is personal data); the event says who wrote what kind of comment."""

    comment_id: uuid.UUID
    visibility: str = Field(description="public or internal")
    author_type: str = Field(description="agent, customer or system")
    via: str = Field(description="the channel the comment came by: api, email, ...")


class SlaReport(TicketCreated):
    """A ticket's SLA target about to be missed (``sla_warning``) or missed (``sla_breached``)."""

    target: str = Field(description="first_response, next_response or resolution")
    due_at: IsoTime
    policy_id: uuid.UUID


class TicketEscalated(TicketCreated):
    """What a breached target's escalation did: raised the priority, moved the queue, notified the owner's
    manager (the ``actions`` taken, in order)."""

    target: str
    policy_id: uuid.UUID
    actions: list[str]


class SatisfactionRated(EventPayload):
    """A customer's rating of a resolved ticket (1-5), one per resolution; the comment stays in the desk."""

    ticket_id: uuid.UUID
    customer_id: uuid.UUID
    rating: int = Field(ge=1, le=5)
    resolution: int = Field(description="which resolution of the ticket it rates: 1 for the first")
    queue_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    rated_at: IsoTime


def _ticket_event(action: str, payload: type[EventPayload]) -> EventType:
    return EventType(f"crm.service_desk.ticket.{action}.v1", SERVICE_DESK_TOPIC, payload)


TICKET_CREATED = _ticket_event("created", TicketCreated)
TICKET_UPDATED = _ticket_event("updated", TicketChanged)
TICKET_ASSIGNED = _ticket_event("assigned", TicketChanged)
TICKET_SOLVED = _ticket_event("solved", TicketChanged)
TICKET_CLOSED = _ticket_event("closed", TicketChanged)
TICKET_REOPENED = _ticket_event("reopened", TicketChanged)
TICKET_COMMENTED = _ticket_event("commented", TicketCommented)
TICKET_SLA_WARNING = _ticket_event("sla_warning", SlaReport)
TICKET_SLA_BREACHED = _ticket_event("sla_breached", SlaReport)
TICKET_ESCALATED = _ticket_event("escalated", TicketEscalated)
SATISFACTION_RATED = EventType("crm.service_desk.satisfaction.rated.v1", SERVICE_DESK_TOPIC, SatisfactionRated)
# By what a change did (``rules.event_action``); creation has its own payload.
TICKET_CHANGED: dict[str, EventType] = {
    "updated": TICKET_UPDATED, "assigned": TICKET_ASSIGNED, "solved": TICKET_SOLVED, "closed": TICKET_CLOSED,
    "reopened": TICKET_REOPENED}

PUBLISHES: tuple[EventType, ...] = (
    TICKET_CREATED, TICKET_UPDATED, TICKET_ASSIGNED, TICKET_SOLVED, TICKET_CLOSED, TICKET_REOPENED, TICKET_COMMENTED,
    TICKET_SLA_WARNING, TICKET_SLA_BREACHED, TICKET_ESCALATED, SATISFACTION_RATED)


# --- read from the customer service --------------------------------------------------------


VIEW_UPDATED = Reads("crm.customer.view.updated.v1", CUSTOMER_VIEW_TOPIC.name, ReplicatedView)
CUSTOMER_MERGED = Reads("crm.customer.merged.v1", CUSTOMER_TOPIC.name, MergeAnnouncement)
CUSTOMER_UNMERGED = Reads("crm.customer.unmerged.v1", CUSTOMER_TOPIC.name, UnmergeAnnouncement)
CUSTOMER_ERASED = Reads("crm.customer.erased.v1", CUSTOMER_TOPIC.name, ErasureAnnouncement)

READS: tuple[Reads, ...] = (VIEW_UPDATED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_ERASED)
# Produced and consumed: provisioned before the service starts.
TOPICS: tuple[TopicSpec, ...] = (SERVICE_DESK_TOPIC, CUSTOMER_TOPIC, CUSTOMER_VIEW_TOPIC)
