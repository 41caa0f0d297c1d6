"""The campaign service's event contract: what it publishes, what it reads, the scopes it checks.

Both kinds of event go to ``crm.campaign.v1``: member and response events are keyed by the customer id
(they are facts about a customer); campaign events, which concern no single customer, by
the campaign id. What it reads from the customer service (the unified view, the customer
life cycle) it names here and reads with the models of the library mechanisms that act on
it (``shared.replica``, ``shared.lifecycle``): the contract test holds those against the
producer's schema.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from shared.contract import EventPayload, EventType, Reads, TopicSpec
from shared.lifecycle import ErasureAnnouncement, MergeAnnouncement, UnmergeAnnouncement
from shared.replica import ReplicatedView
from shared.types import Money

READ_SCOPE = "campaigns:read"
WRITE_SCOPE = "campaigns:write"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE)

CAMPAIGN_TOPIC = TopicSpec("crm.campaign.v1")
CUSTOMER_TOPIC = TopicSpec("crm.customer.v1")
CUSTOMER_VIEW_TOPIC = TopicSpec("crm.customer_view.v1", compacted=True)


# --- published ---------------------------------------------------------------------------
# Vocabularies (channel, status) are plain strings: they grow, and a new value must not
# break a reader that validates the payload.


class VariantFacts(EventPayload):
    """An A/B variant by name and share; its subject and body stay in the API (they can be long)."""

    name: str
    share: int


class CampaignFacts(EventPayload):
    """A campaign as it is now. The event's own model: the HTTP response may evolve apart from it."""

    id: uuid.UUID
    name: str
    channel: str
    budget: Money
    actual_cost: Money = Field(description="The costs booked so far, in the budget's currency.")
    status: str = Field(description="draft, scheduled, running, completed or cancelled")
    starts_on: date | None
    ends_on: date | None
    objective: str | None
    owner: str | None
    audience_id: uuid.UUID | None
    variants: list[VariantFacts]
    test_share: int | None
    winner_metric: str | None
    test_window_hours: int | None
    winner: str | None
    winner_chosen_at: datetime | None
    winner_reason: str | None
    launched_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class CampaignCreated(EventPayload):
    campaign: CampaignFacts


class CampaignChanged(CampaignCreated):
    """A campaign after a change, with what changed: ``{field: {"old": ..., "new": ...}}`` (column names)."""

    changes: dict[str, dict[str, Any]]


class MemberChanged(EventPayload):
    """A customer joined or left a campaign; a merge moving a membership reports both, about each customer."""

    member_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    customer_id: uuid.UUID
    status: str = Field(description="member or removed")
    variant: str | None = Field(default=None, description="The A/B variant given at launch, if any.")


class ResponseRecorded(EventPayload):
    """A customer responded to a campaign (opened, clicked, replied, registered, unsubscribed, converted).

    Ids, the campaign's name and the kind only: no personal data. ``unsubscribed`` records
    what the customer did in the campaign; consent itself is the customer master's.
    """

    response_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    customer_id: uuid.UUID
    kind: str = Field(description="opened, clicked, replied, registered, unsubscribed or converted")
    occurred_at: AwareDatetime = Field(description="When the customer responded, in UTC.")


class SendRecorded(EventPayload):
    """A member's message of a campaign was sent, suppressed (with the reason) or bounced.

    Ids, the channel and the outcome only: the address it went to stays in the campaign service.
    """

    send_id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    customer_id: uuid.UUID
    channel: str = Field(description="email, sms or phone")
    variant: str | None
    status: str = Field(description="sent, suppressed or bounced")
    reason: str | None = Field(description="Why it was suppressed or bounced: no_consent, unsubscribed, "
                                           "no_address, bounced_address, frequency_cap, or the bounce's status.")
    occurred_at: AwareDatetime


CAMPAIGN_CREATED = EventType("crm.campaign.campaign.created.v1", CAMPAIGN_TOPIC, CampaignCreated)
CAMPAIGN_UPDATED = EventType("crm.campaign.campaign.updated.v1", CAMPAIGN_TOPIC, CampaignChanged)
MEMBER_ADDED = EventType("crm.campaign.member.added.v1", CAMPAIGN_TOPIC, MemberChanged)
MEMBER_REMOVED = EventType("crm.campaign.member.removed.v1", CAMPAIGN_TOPIC, MemberChanged)
MEMBER_MOVED = EventType("crm.campaign.member.moved.v1", CAMPAIGN_TOPIC, MemberChanged)
SEND_SENT = EventType("crm.campaign.send.sent.v1", CAMPAIGN_TOPIC, SendRecorded)
SEND_BOUNCED = EventType("crm.campaign.send.bounced.v1", CAMPAIGN_TOPIC, SendRecorded)
SEND_SUPPRESSED = EventType("crm.campaign.send.suppressed.v1", CAMPAIGN_TOPIC, SendRecorded)
SEND_RECORDED: dict[str, EventType] = {"sent": SEND_SENT, "bounced": SEND_BOUNCED, "suppressed": SEND_SUPPRESSED}
# A merge (or an unmerge) gave a send to another customer: announced as moved, for nothing was sent again.
SEND_MOVED = EventType("crm.campaign.send.moved.v1", CAMPAIGN_TOPIC, SendRecorded)
RESPONSE_KINDS: tuple[str, ...] = ("opened", "clicked", "replied", "registered", "unsubscribed", "converted")
# One type per kind, so a reader subscribes to the kinds it acts on (a lead from a reply, not from an open).
RESPONSE_RECORDED: dict[str, EventType] = {
    kind: EventType(f"crm.campaign.response.{kind}.v1", CAMPAIGN_TOPIC, ResponseRecorded) for kind in RESPONSE_KINDS}
# A merge (or an unmerge) gave a recorded response to another customer: no new response happened,
# so it is not announced under its kind again (a reader that acts on responses must not act twice).
RESPONSE_MOVED = EventType("crm.campaign.response.moved.v1", CAMPAIGN_TOPIC, ResponseRecorded)

PUBLISHES: tuple[EventType, ...] = (CAMPAIGN_CREATED, CAMPAIGN_UPDATED, MEMBER_ADDED, MEMBER_REMOVED, MEMBER_MOVED,
                                    SEND_SENT, SEND_BOUNCED, SEND_SUPPRESSED, SEND_MOVED,
                                    *RESPONSE_RECORDED.values(), RESPONSE_MOVED)


# --- read from the customer service --------------------------------------------------------


VIEW_UPDATED = Reads("crm.customer.view.updated.v1", CUSTOMER_VIEW_TOPIC.name, ReplicatedView)
CUSTOMER_MERGED = Reads("crm.customer.merged.v1", CUSTOMER_TOPIC.name, MergeAnnouncement)
CUSTOMER_UNMERGED = Reads("crm.customer.unmerged.v1", CUSTOMER_TOPIC.name, UnmergeAnnouncement)
CUSTOMER_ERASED = Reads("crm.customer.erased.v1", CUSTOMER_TOPIC.name, ErasureAnnouncement)

READS: tuple[Reads, ...] = (VIEW_UPDATED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_ERASED)


# --- read from the sales service -----------------------------------------------------------
# What sales made of the customers (leads, opportunities, won deals) and its dated exchange rates: the report
# attributes them to the campaigns that touched the customer, the simulation learns its rates from them.

SALES_TOPIC = TopicSpec("crm.sales.v1")


class SalesLead(BaseModel):
    """What outcomes read of a lead."""

    lead_id: uuid.UUID
    status: str
    customer_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    campaign_id: uuid.UUID | None = None
    version: int


class SalesOpportunity(BaseModel):
    """What outcomes read of an opportunity."""

    opportunity_id: uuid.UUID
    customer_id: uuid.UUID
    amount: Money
    status: str
    version: int


class SalesExchangeRate(BaseModel):
    """What outcomes read of a dated exchange rate."""

    rate_id: uuid.UUID
    base: str
    quote: str
    rate: str
    valid_from: date


LEAD_ACTIONS: tuple[str, ...] = ("updated", "assigned", "qualified", "disqualified", "converted", "merged", "overdue")
LEAD_EVENTS: tuple[Reads, ...] = (Reads("crm.sales.lead.created.v1", SALES_TOPIC.name, SalesLead),) + tuple(
    Reads(f"crm.sales.lead.{action}.v1", SALES_TOPIC.name, SalesLead) for action in LEAD_ACTIONS)
OPPORTUNITY_EVENTS: tuple[Reads, ...] = tuple(
    Reads(f"crm.sales.opportunity.{action}.v1", SALES_TOPIC.name, SalesOpportunity)
    for action in ("created", "updated", "won", "lost"))
EXCHANGE_RATE_CREATED = Reads("crm.sales.exchange_rate.created.v1", SALES_TOPIC.name, SalesExchangeRate)
READS += (*LEAD_EVENTS, *OPPORTUNITY_EVENTS, EXCHANGE_RATE_CREATED)
# Produced and consumed: provisioned before the service starts.
TOPICS: tuple[TopicSpec, ...] = (CAMPAIGN_TOPIC, CUSTOMER_TOPIC, CUSTOMER_VIEW_TOPIC, SALES_TOPIC)
