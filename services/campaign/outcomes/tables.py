"""The copies of sales' leads, opportunities and exchange rates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.campaign.database import Base


class LeadOutcome(Base):
    """A lead as sales last reported it (``id`` is the lead's id)."""

    __tablename__ = "lead_outcomes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID | None]
    campaign_id: Mapped[uuid.UUID | None]
    opportunity_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20))
    # When sales created it (the first event's time): the moment a campaign touch must precede.
    created_at: Mapped[datetime]
    version: Mapped[int]

    __table_args__ = (
        Index("ix_lead_outcomes_customer", "tenant_id", "customer_id"),
        Index("ix_lead_outcomes_campaign", "campaign_id"),
    )


class OpportunityOutcome(Base):
    """An opportunity as sales last reported it (``id`` is the opportunity's id)."""

    __tablename__ = "opportunity_outcomes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    # When it was won (the won event's time); None while open, lost, or reopened.
    won_at: Mapped[datetime | None]
    version: Mapped[int]

    __table_args__ = (Index("ix_opportunity_outcomes_customer", "tenant_id", "customer_id"),)


class ExchangeRate(Base):
    """One ``base`` is worth ``rate`` ``quote`` from ``valid_from`` until the pair's next rate."""

    __tablename__ = "exchange_rates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    valid_from: Mapped[date]

    __table_args__ = (Index("ix_exchange_rates_pair", "tenant_id", "base", "quote", "valid_from"),)
