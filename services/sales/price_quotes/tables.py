"""The pricing policy table: a tenant's discount threshold (quotes themselves are answers, not stored)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class PricingPolicy(Base):
    """Above ``discount_threshold`` percent a line's discount needs approval. No row: the default (10%)."""

    __tablename__ = "pricing_policies"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    discount_threshold: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    version: Mapped[int]
    updated_at: Mapped[datetime]
