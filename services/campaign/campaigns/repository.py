"""Every query of the campaigns, campaign members and campaign costs tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import distinct, func, select, update
from sqlalchemy.orm import Session

from services.campaign.campaigns.tables import Campaign, CampaignCost, CampaignMember
from services.campaign.responses.tables import CampaignResponse
from shared.http import PageRequest


def get_campaign(session: Session, tenant: str, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign | None:
    query = select(Campaign).where(Campaign.tenant_id == tenant, Campaign.id == campaign_id)
    return session.scalar(query.with_for_update() if for_update else query)


def scheduled_due(session: Session, today: date) -> list[Campaign]:
    """Scheduled campaigns whose start day has come, locked (a second job run skips them)."""
    return list(session.scalars(select(Campaign).where(Campaign.status == "scheduled", Campaign.starts_on <= today)
                                .order_by(Campaign.id).with_for_update(skip_locked=True)))


def tests_due(session: Session, now: datetime) -> list[Campaign]:
    """Running A/B tests without a winner whose window has passed, locked (a second job run skips them)."""
    candidates = session.scalars(select(Campaign).where(
        Campaign.status == "running", Campaign.test_share.is_not(None), Campaign.winner.is_(None),
        Campaign.launched_at.is_not(None)).order_by(Campaign.id).with_for_update(skip_locked=True))
    # The window is per campaign; the few running tests are filtered here rather than in dialect-specific SQL.
    return [c for c in candidates if c.launched_at + timedelta(hours=c.test_window_hours or 0) <= now]


def variant_results(session: Session, campaign: Campaign, names: list[str]) -> list[tuple[str, int, int]]:
    """Per variant: its members in the test, and how many of them responded by the campaign's metric."""
    members = dict(session.execute(
        select(CampaignMember.variant, func.count()).where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.status == "member",
            CampaignMember.variant.is_not(None)).group_by(CampaignMember.variant)).all())
    responders = dict(session.execute(
        select(CampaignMember.variant, func.count(distinct(CampaignResponse.customer_id)))
        .join(CampaignResponse, (CampaignResponse.campaign_id == CampaignMember.campaign_id)
              & (CampaignResponse.customer_id == CampaignMember.customer_id))
        .where(CampaignMember.campaign_id == campaign.id, CampaignMember.status == "member",
               CampaignMember.variant.is_not(None), CampaignResponse.kind == campaign.winner_metric)
        .group_by(CampaignMember.variant)).all())
    return [(name, int(members.get(name, 0)), int(responders.get(name, 0))) for name in names]


def give_waiting_members(session: Session, campaign_id: uuid.UUID, variant: str, now: datetime) -> None:
    """The members outside the A/B test get the winning variant."""
    session.execute(update(CampaignMember).where(CampaignMember.campaign_id == campaign_id,
                                                 CampaignMember.variant.is_(None))
                    .values(variant=variant, updated_at=now))


def members_of(session: Session, campaign_id: uuid.UUID) -> dict[uuid.UUID, CampaignMember]:
    """Every membership of a campaign, removed ones too, by customer."""
    rows = session.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id))
    return {row.customer_id: row for row in rows}


def list_costs(session: Session, campaign_id: uuid.UUID, page: PageRequest) -> list[CampaignCost]:
    query = select(CampaignCost).where(CampaignCost.campaign_id == campaign_id)
    if page.after is not None:
        query = query.where(CampaignCost.id > page.after)
    return list(session.scalars(query.order_by(CampaignCost.id).limit(page.limit + 1)))


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


def campaign_by_id(session: Session, campaign_id: uuid.UUID) -> Campaign | None:
    """A campaign by id alone, for the worker's jobs, which act for every tenant."""
    return session.get(Campaign, campaign_id)


def campaign_of(session: Session, member: CampaignMember) -> Campaign | None:
    return session.get(Campaign, member.campaign_id)
