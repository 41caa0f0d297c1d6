"""Events the campaign service consumes.

- the unified customer view, into its replica (``crm.customer_view.v1``);
- the customer life cycle (``crm.customer.v1``): merges move memberships to the
  survivor (a membership the survivor already has in that campaign stays where it was,
  one membership per customer and campaign), unmerges bring them back; erasure keeps
  memberships, which hold no personal data, for the campaign's figures.

``CONSUMERS`` run in the app; ``digest`` and ``states`` let operators prove a replay
identical and check the replica against the master view.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.campaign import events, repository
from services.campaign.tables import Campaign, CampaignMember
from shared.db import utcnow
from shared.lifecycle import Follower, lifecycle_consumer
from shared.replica import REPLICA_CONSUMER
from shared.replica import replica_digest as digest
from shared.replica import replica_states as states


def movable_members(session: Session, members: list[CampaignMember], survivor: uuid.UUID) -> list[CampaignMember]:
    return [m for m in members if repository.get_member(session, m.campaign_id, survivor) is None]


def member_moved(session: Session, tenant: str, member: CampaignMember, previous: uuid.UUID) -> None:
    """The previous customer leaves the campaign and the new one joins it, as far as anyone else can tell."""
    member.updated_at = utcnow()
    campaign = session.get(Campaign, member.campaign_id)
    name = campaign.name if campaign is not None else ""
    events.member_changed(session, tenant, "moved", member, name, customer_id=str(previous), status="removed")
    events.member_changed(session, tenant, "moved", member, name)


def keep_memberships(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """Memberships name no one once the customer is erased: nothing to anonymise."""


CONSUMERS = [
    REPLICA_CONSUMER,
    lifecycle_consumer([Follower(CampaignMember, "member", member_moved, keep_memberships, movable_members)]),
]

__all__ = ["CONSUMERS", "digest", "states"]
