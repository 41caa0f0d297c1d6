"""The campaigns and campaign members tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.campaign.database import Base


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    budget_amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    budget_currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_campaigns_tenant_id", "tenant_id", "id"),)


class CampaignMember(Base):
    """A customer targeted by a campaign."""

    __tablename__ = "campaign_members"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(12))
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_members_campaign_customer"),
        Index("ix_campaign_members_campaign", "campaign_id", "id"),
        Index("ix_campaign_members_customer", "tenant_id", "customer_id"),
    )
