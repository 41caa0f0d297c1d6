"""The sales service's event contract: what it publishes, what it reads, the scopes it checks.

Opportunity events go to ``crm.sales.v1``, keyed by the customer id. What it reads from
the customer service (the unified view, the customer life cycle) it names here and reads
with the models of the library mechanisms that act on it (``shared.replica``,
``shared.lifecycle``): the contract test holds those against the producer's schema.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from shared.contract import EventPayload, EventType, Reads, TopicSpec
from shared.lifecycle import ErasureAnnouncement, MergeAnnouncement, UnmergeAnnouncement
from shared.replica import ReplicatedView
from shared.types import Money

READ_SCOPE = "sales:read"
WRITE_SCOPE = "sales:write"
# Reopening a closed deal, a discount above the tenant's threshold: a manager's decision.
APPROVE_SCOPE = "sales:approve"
SCOPES: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE, APPROVE_SCOPE)

SALES_TOPIC = TopicSpec("crm.sales.v1")
CUSTOMER_TOPIC = TopicSpec("crm.customer.v1")
CUSTOMER_VIEW_TOPIC = TopicSpec("crm.customer_view.v1", compacted=True)


# --- published ---------------------------------------------------------------------------
# Vocabularies (stage, status) are plain strings: they grow (stages become per tenant),
# and a new value must not break a reader that validates the payload.


class OpportunityCreated(EventPayload):
    """An opportunity as it is now."""

    opportunity_id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    amount: Money
    stage: str
    status: str = Field(description="open, won or lost")
    probability: int = Field(description="Win probability of the stage, in percent.")
    version: int


class OpportunityChanged(OpportunityCreated):
    """An opportunity after a change, with what changed: ``{field: {"old": ..., "new": ...}}``.

    An erasure reports ``{"name": {"erased": true}}`` instead of the old name.
    """

    changes: dict[str, dict[str, Any]]


OPPORTUNITY_CREATED = EventType("crm.sales.opportunity.created.v1", SALES_TOPIC, OpportunityCreated)
OPPORTUNITY_UPDATED = EventType("crm.sales.opportunity.updated.v1", SALES_TOPIC, OpportunityChanged)
OPPORTUNITY_WON = EventType("crm.sales.opportunity.won.v1", SALES_TOPIC, OpportunityChanged)
OPPORTUNITY_LOST = EventType("crm.sales.opportunity.lost.v1", SALES_TOPIC, OpportunityChanged)
# By what a change did (``rules.event_action``); creation has its own payload.
OPPORTUNITY_CHANGED: dict[str, EventType] = {
    "updated": OPPORTUNITY_UPDATED, "won": OPPORTUNITY_WON, "lost": OPPORTUNITY_LOST}

PUBLISHES: tuple[EventType, ...] = (OPPORTUNITY_CREATED, OPPORTUNITY_UPDATED, OPPORTUNITY_WON, OPPORTUNITY_LOST)


# --- read from the customer service --------------------------------------------------------


VIEW_UPDATED = Reads("crm.customer.view.updated.v1", CUSTOMER_VIEW_TOPIC.name, ReplicatedView)
CUSTOMER_MERGED = Reads("crm.customer.merged.v1", CUSTOMER_TOPIC.name, MergeAnnouncement)
CUSTOMER_UNMERGED = Reads("crm.customer.unmerged.v1", CUSTOMER_TOPIC.name, UnmergeAnnouncement)
CUSTOMER_ERASED = Reads("crm.customer.erased.v1", CUSTOMER_TOPIC.name, ErasureAnnouncement)

READS: tuple[Reads, ...] = (VIEW_UPDATED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_ERASED)
# Produced and consumed: provisioned before the service starts.
TOPICS: tuple[TopicSpec, ...] = (SALES_TOPIC, CUSTOMER_TOPIC, CUSTOMER_VIEW_TOPIC)
