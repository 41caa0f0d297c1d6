"""Every query of the campaigns and campaign members tables."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.campaign.campaigns.tables import Campaign, CampaignMember
from shared.http import PageRequest


def get_campaign(session: Session, tenant: str, campaign_id: uuid.UUID) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.tenant_id == tenant, Campaign.id == campaign_id))


def list_campaigns(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Campaign]:
    """One page in id order, plus one row more if there is a next page (as every list here)."""
    query = select(Campaign).where(Campaign.tenant_id == tenant)
    for name in ("status", "channel"):
        if filters.get(name) is not None:
            query = query.where(getattr(Campaign, name) == filters[name])
    if page.after is not None:
        query = query.where(Campaign.id > page.after)
    return list(session.scalars(query.order_by(Campaign.id).limit(page.limit + 1)))


def get_member(session: Session, campaign_id: uuid.UUID, customer_id: uuid.UUID) -> CampaignMember | None:
    return session.scalar(
        select(CampaignMember).where(CampaignMember.campaign_id == campaign_id, CampaignMember.customer_id == customer_id)
    )


def list_members(session: Session, campaign_id: uuid.UUID, page: PageRequest, status: str | None) -> list[CampaignMember]:
    query = select(CampaignMember).where(CampaignMember.campaign_id == campaign_id)
    if status is not None:
        query = query.where(CampaignMember.status == status)
    if page.after is not None:
        query = query.where(CampaignMember.id > page.after)
    return list(session.scalars(query.order_by(CampaignMember.id).limit(page.limit + 1)))


def list_memberships(session: Session, tenant: str, customer_id: uuid.UUID, page: PageRequest) -> list[CampaignMember]:
    """One customer's memberships in every campaign of the tenant (removed ones too), in id order."""
    query = select(CampaignMember).where(CampaignMember.tenant_id == tenant, CampaignMember.customer_id == customer_id)
    if page.after is not None:
        query = query.where(CampaignMember.id > page.after)
    return list(session.scalars(query.order_by(CampaignMember.id).limit(page.limit + 1)))


def campaign_of(session: Session, member: CampaignMember) -> Campaign | None:
    return session.get(Campaign, member.campaign_id)
