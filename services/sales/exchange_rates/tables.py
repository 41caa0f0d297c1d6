"""The exchange rates table."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class ExchangeRate(Base):
    """One unit of ``base`` is worth ``rate`` units of ``quote`` from ``valid_from`` until the pair's next rate."""

    __tablename__ = "exchange_rates"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    # 14 integer digits and the 10 decimals the API takes.
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    valid_from: Mapped[date]
    created_at: Mapped[datetime]

    __table_args__ = (
        # One rate per pair and day; also the lookup of a pair's rates in date order.
        Index("ux_exchange_rates_pair_day", "tenant_id", "base", "quote", "valid_from", unique=True),
        Index("ix_exchange_rates_tenant_id", "tenant_id", "id"),
    )
