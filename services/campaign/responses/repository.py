"""Every query of the campaign responses table and of the consent withdrawals waiting to be sent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.campaign.responses.tables import CampaignResponse, ConsentWithdrawal
from shared.http import PageRequest


def list_responses(session: Session, campaign_id: uuid.UUID, page: PageRequest,
                   filters: dict[str, Any]) -> list[CampaignResponse]:
    """One page in id order (time-ordered ids: the order they were recorded), plus one row more if there is a next page."""
    query = select(CampaignResponse).where(CampaignResponse.campaign_id == campaign_id)
    for name in ("kind", "customer_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(CampaignResponse, name) == filters[name])
    if page.after is not None:
        query = query.where(CampaignResponse.id > page.after)
    return list(session.scalars(query.order_by(CampaignResponse.id).limit(page.limit + 1)))


def queue_withdrawal(session: Session, withdrawal: ConsentWithdrawal) -> None:
    session.add(withdrawal)


def due_withdrawals(session: Session, now: datetime, limit: int) -> list[ConsentWithdrawal]:
    """Withdrawals waiting and due, oldest first, locked so that two workers never send the same one
    (``SKIP LOCKED`` on PostgreSQL; SQLite has one writer anyway)."""
    return list(session.scalars(select(ConsentWithdrawal).where(ConsentWithdrawal.next_attempt_at <= now)
                                .order_by(ConsentWithdrawal.next_attempt_at, ConsentWithdrawal.response_id)
                                .limit(limit).with_for_update(skip_locked=True)))


def withdrawals_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[ConsentWithdrawal]:
    return list(session.scalars(select(ConsentWithdrawal).where(
        ConsentWithdrawal.tenant_id == tenant, ConsentWithdrawal.customer_id == customer_id)
        .order_by(ConsentWithdrawal.requested_at)))


def unsubscribe_pending(session: Session, tenant: str, customer_id: uuid.UUID, channel: str, since: datetime) -> bool:
    """An unsubscribe of the customer on the channel not yet carried to the customer master, or made since ``since``
    (carried, but perhaps not in the view yet)."""
    return session.scalar(select(ConsentWithdrawal.response_id).where(
        ConsentWithdrawal.tenant_id == tenant, ConsentWithdrawal.customer_id == customer_id,
        ConsentWithdrawal.channel == channel,
        or_(ConsentWithdrawal.outcome.is_(None), ConsentWithdrawal.requested_at > since)).limit(1)) is not None


def response_of_send(session: Session, send_id: uuid.UUID, kind: str) -> CampaignResponse | None:
    return session.scalar(select(CampaignResponse).where(CampaignResponse.send_id == send_id,
                                                         CampaignResponse.kind == kind))


def responses_of(session: Session, tenant: str, customer_ids: set[uuid.UUID]) -> list[CampaignResponse]:
    """Every response of these customers, to any of the tenant's campaigns, oldest first."""
    if not customer_ids:
        return []
    return list(session.scalars(select(CampaignResponse).where(
        CampaignResponse.tenant_id == tenant, CampaignResponse.customer_id.in_(customer_ids))
        .order_by(CampaignResponse.occurred_at, CampaignResponse.id)))


def responses_to(session: Session, tenant: str, campaign_ids: set[uuid.UUID]) -> list[CampaignResponse]:
    """Every response to these campaigns."""
    if not campaign_ids:
        return []
    return list(session.scalars(select(CampaignResponse).where(
        CampaignResponse.tenant_id == tenant, CampaignResponse.campaign_id.in_(campaign_ids))))
