"""Tables of classification: a tenant's group rules and value tiers, and the deals that move value tiers."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base
from shared.db import SequenceType


class ClassificationSettings(Base):
    """A tenant's group rules and value tiers, and the value cut-offs of the last full evaluation."""

    __tablename__ = "classification_settings"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules: Mapped[list[Any]]
    default_group: Mapped[str] = mapped_column(String(100))
    tiers: Mapped[list[Any]]
    # The lowest value that reached each tier at the last full evaluation: single writes use them.
    cutoffs: Mapped[list[Any]]
    # Values in other currencies are converted with these rates; no currency: amounts count as they are.
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    # What the last full ranking saw (customers, and the sum and sum of squares of their values): the
    # periodic ranking skips a tenant whose population has not moved since.
    ranked_population: Mapped[list[Any] | None] = mapped_column(default=None)
    exchange_rates: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # What value adds to the opening balance: "paid_revenue" (the sales service's) or "won_deals".
    value_basis: Mapped[str] = mapped_column(String(20), default="paid_revenue", server_default="paid_revenue")
    version: Mapped[int]
    evaluated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class CustomerDeal(Base):
    """An opportunity as the sales service last reported it: what a customer's sales figures are summed from.

    Kept per opportunity (not as running totals) so a redelivered, late or re-pointed
    deal (a merge moves it) changes the figures exactly once, in the right place.
    """

    __tablename__ = "customer_deals"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    won_at: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(SequenceType)

    __table_args__ = (Index("ix_customer_deals_customer", "tenant_id", "customer_id"),)
