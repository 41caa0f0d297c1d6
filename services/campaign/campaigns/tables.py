"""The campaigns, campaign members and campaign costs tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    objective: Mapped[str | None] = mapped_column(String(500))
    owner: Mapped[str | None] = mapped_column(String(100))
    audience_id: Mapped[uuid.UUID | None]
    # [{name, share, subject?, body?}]: shares in whole percent, adding up to 100.
    variants: Mapped[list[Any]]
    # Percent of the members in the A/B test; the rest wait for the winner. None: everyone is split.
    test_share: Mapped[int | None]
    # The A/B test: the response kind whose rate picks the winner, after this many hours from the launch.
    winner_metric: Mapped[str | None] = mapped_column(String(20))
    test_window_hours: Mapped[int | None]
    winner: Mapped[str | None] = mapped_column(String(60))
    winner_chosen_at: Mapped[datetime | None]
    # Why that variant won, with each variant's figures, e.g. "clicked: B 12 of 50 (24.0%), A 8 of 50 (16.0%)".
    winner_reason: Mapped[str | None] = mapped_column(String(500))
    launched_at: Mapped[datetime | None]
    # The sum of its costs (campaign_costs), kept with each cost booked so a list shows it without summing.
    spent_amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
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
    # The A/B variant the member was given at launch (None: no variants, or waiting for the winner).
    variant: Mapped[str | None] = mapped_column(String(60))
    added_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_members_campaign_customer"),
        Index("ix_campaign_members_campaign", "campaign_id", "id"),
        Index("ix_campaign_members_customer", "tenant_id", "customer_id"),
    )


class CampaignCost(Base):
    """Money a campaign actually spent, dated, in its budget's currency."""

    __tablename__ = "campaign_costs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    incurred_on: Mapped[date]
    description: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_campaign_costs_campaign", "campaign_id", "incurred_on", "id"),)
