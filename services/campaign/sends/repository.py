"""Every query of campaign sends, suppressed addresses and frequency caps."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from services.campaign.campaigns.tables import Campaign, CampaignMember
from services.campaign.sends.tables import CampaignSend, FrequencyCap, SuppressedAddress
from shared.http import PageRequest

# What counts as a contact for the frequency cap and the throttle: handed to the sender (sent or not yet
# confirmed), and bounced ones, which were sent too.
CONTACTED = ("sending", "sent", "bounced", "unconfirmed")


def running_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.status == "running").order_by(Campaign.id)))


def lock_campaign(session: Session, campaign_id: uuid.UUID) -> Campaign | None:
    """The campaign row, locked: one worker at a time queues its members (SKIP LOCKED: the other moves on)."""
    return session.scalar(select(Campaign).where(Campaign.id == campaign_id, Campaign.status == "running")
                          .with_for_update(skip_locked=True))


def last_queued_member(session: Session, campaign_id: uuid.UUID) -> uuid.UUID | None:
    # Newest first on the (campaign, member) index; PostgreSQL has no max() of a uuid.
    return session.scalar(select(CampaignSend.member_id).where(CampaignSend.campaign_id == campaign_id)
                          .order_by(CampaignSend.member_id.desc()).limit(1))


def members_to_queue(session: Session, campaign_id: uuid.UUID, after: uuid.UUID | None,
                     limit: int) -> list[CampaignMember]:
    """Members past the last one queued, in the order they joined (ids are time-ordered)."""
    query = select(CampaignMember).where(CampaignMember.campaign_id == campaign_id, CampaignMember.status == "member")
    if after is not None:
        query = query.where(CampaignMember.id > after)
    return list(session.scalars(query.order_by(CampaignMember.id).limit(limit)))


def claim(session: Session, campaign_id: uuid.UUID, now: datetime, limit: int) -> list[CampaignSend]:
    """Queued sends that are due and nobody's claim, oldest first, locked for the claim."""
    if limit <= 0:
        return []
    return list(session.scalars(select(CampaignSend).where(
        CampaignSend.campaign_id == campaign_id, CampaignSend.status == "queued", CampaignSend.next_attempt_at <= now,
        or_(CampaignSend.claimed_until.is_(None), CampaignSend.claimed_until < now))
        .order_by(CampaignSend.member_id).limit(limit).with_for_update(skip_locked=True)))


def stalled(session: Session, now: datetime) -> list[CampaignSend]:
    """Sends a worker was handing over when it stopped: its claim ran out with the send still ``sending``."""
    return list(session.scalars(select(CampaignSend).where(
        CampaignSend.status == "sending", CampaignSend.claimed_until < now).with_for_update(skip_locked=True)))


def release(session: Session, send_ids: list[uuid.UUID]) -> None:
    if send_ids:
        session.execute(update(CampaignSend).where(CampaignSend.id.in_(send_ids), CampaignSend.status == "queued")
                        .values(claimed_until=None))


def release_held(session: Session, campaign_id: uuid.UUID, variant: str, now: datetime) -> None:
    """Sends waiting for an A/B test's winner get the winning variant and are queued."""
    session.execute(update(CampaignSend).where(CampaignSend.campaign_id == campaign_id, CampaignSend.status == "held")
                    .values(status="queued", variant=variant, next_attempt_at=now, updated_at=now))


def sent_recently(session: Session, tenant: str, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(CampaignSend).where(
        CampaignSend.tenant_id == tenant, CampaignSend.sent_at > since)) or 0)


def contacts_since(session: Session, tenant: str, customer_id: uuid.UUID, channel: str, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(CampaignSend).where(
        CampaignSend.tenant_id == tenant, CampaignSend.customer_id == customer_id, CampaignSend.channel == channel,
        CampaignSend.sent_at > since, CampaignSend.status.in_(CONTACTED))) or 0)


def address_suppressed(session: Session, tenant: str, channel: str, address_hash: str) -> bool:
    return session.get(SuppressedAddress, (tenant, channel, address_hash)) is not None


def suppress_address(session: Session, suppressed: SuppressedAddress) -> None:
    if session.get(SuppressedAddress, (suppressed.tenant_id, suppressed.channel, suppressed.address_hash)) is None:
        session.add(suppressed)


def get_send(session: Session, send_id: uuid.UUID, *, for_update: bool = False) -> CampaignSend | None:
    if not for_update:
        return session.get(CampaignSend, send_id)
    return session.scalar(select(CampaignSend).where(CampaignSend.id == send_id).with_for_update())


def list_sends(session: Session, campaign_id: uuid.UUID, page: PageRequest, status: str | None) -> list[CampaignSend]:
    """One page in the order the members joined (the send's member id), plus one row more if there is a next page."""
    query = select(CampaignSend).where(CampaignSend.campaign_id == campaign_id)
    if status is not None:
        query = query.where(CampaignSend.status == status)
    if page.after is not None:
        query = query.where(CampaignSend.member_id > page.after)
    return list(session.scalars(query.order_by(CampaignSend.member_id).limit(page.limit + 1)))


def sends_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[CampaignSend]:
    return list(session.scalars(select(CampaignSend).where(CampaignSend.tenant_id == tenant,
                                                           CampaignSend.customer_id == customer_id)))


def frequency_cap(session: Session, tenant: str, channel: str) -> FrequencyCap | None:
    return session.get(FrequencyCap, (tenant, channel))


def frequency_caps(session: Session, tenant: str) -> list[FrequencyCap]:
    return list(session.scalars(select(FrequencyCap).where(FrequencyCap.tenant_id == tenant)
                                .order_by(FrequencyCap.channel)))


def save_frequency_cap(session: Session, cap: FrequencyCap) -> None:
    session.add(cap)


def delete_frequency_cap(session: Session, cap: FrequencyCap) -> None:
    session.delete(cap)


def send_statuses(session: Session, campaign_id: uuid.UUID) -> list[tuple[uuid.UUID, str | None, str]]:
    """Every send of a campaign as (customer, variant, status): what its report counts."""
    rows = session.execute(select(CampaignSend.customer_id, CampaignSend.variant, CampaignSend.status)
                           .where(CampaignSend.campaign_id == campaign_id))
    return [(customer_id, variant, status) for customer_id, variant, status in rows]



def delivered_by(session: Session, tenant: str, campaign_channel: str, since: datetime,
                 excluding: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The (campaign, customer) pairs the tenant's other campaigns on a channel delivered since a moment."""
    rows = session.execute(select(CampaignSend.campaign_id, CampaignSend.customer_id)
                           .join(Campaign, Campaign.id == CampaignSend.campaign_id).where(
        CampaignSend.tenant_id == tenant, Campaign.channel == campaign_channel, CampaignSend.status == "sent",
        CampaignSend.sent_at >= since, CampaignSend.campaign_id != excluding))
    return [(campaign_id, customer_id) for campaign_id, customer_id in rows]


def contacted_at_least(session: Session, tenant: str, channel: str, since: datetime, times: int) -> set[uuid.UUID]:
    """The customers the tenant's campaigns contacted on a channel ``times`` or more since a moment."""
    rows = session.scalars(select(CampaignSend.customer_id).where(
        CampaignSend.tenant_id == tenant, CampaignSend.channel == channel, CampaignSend.sent_at > since,
        CampaignSend.status.in_(CONTACTED)).group_by(CampaignSend.customer_id).having(func.count() >= times))
    return set(rows)
