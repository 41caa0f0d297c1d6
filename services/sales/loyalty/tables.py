"""Loyalty: each tenant's policy, each customer's account (the row a redemption locks) and its point movements."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class LoyaltyPolicy(Base):
    """No row: the tenant has no loyalty."""

    __tablename__ = "loyalty_policies"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # [{category, value_tier, points_per_unit}] (decimals as strings), as sent.
    earning_rules: Mapped[list[Any]]
    # Money per point, in ``currency`` (the tenant's currency when the policy was set).
    point_value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    expiry_months: Mapped[int]
    version: Mapped[int]
    updated_at: Mapped[datetime]


class LoyaltyAccount(Base):
    """Exists from a customer's first earning; its row is locked by whatever moves the customer's points,
    so two redemptions at once run one after the other and cannot spend the same points."""

    __tablename__ = "loyalty_accounts"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]


class LoyaltyMovement(Base):
    """One change of a customer's points: earned (a lot, with what it still holds and its expiry day),
    redeemed or expired. The balance is never stored: it is what the usable lots still hold."""

    __tablename__ = "loyalty_movements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))  # earned, redeemed or expired
    # Signed: earned adds, redeemed and expired take away.
    points: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # What it came from, once each: invoice:<id> (earned), order:<id> (redeemed), expiry:<lot id> (expired).
    source: Mapped[str] = mapped_column(String(60))
    invoice_id: Mapped[uuid.UUID | None]
    order_id: Mapped[uuid.UUID | None]
    # A lot's (earned) unused points and its last usable day; None for other kinds.
    remaining: Mapped[int | None] = mapped_column(BigInteger)
    expires_on: Mapped[date | None]
    # Earned: each line's points and reason; redeemed: the lots consumed and the conversion; expired: the lot.
    details: Mapped[dict[str, Any] | None]
    occurred_on: Mapped[date]
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ux_loyalty_movements_tenant_source", "tenant_id", "source", unique=True),
        Index("ix_loyalty_movements_tenant_customer", "tenant_id", "customer_id", "id"),
        # The expiry job walks only lots that still hold points.
        Index("ix_loyalty_movements_open_lots", "expires_on", postgresql_where=text("remaining > 0"),
              sqlite_where=text("remaining > 0")),
    )
