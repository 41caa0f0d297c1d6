"""The opportunities table."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    stage: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10))
    expected_close_date: Mapped[date | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_opportunities_tenant_id", "tenant_id", "id"),
        Index("ix_opportunities_tenant_customer", "tenant_id", "customer_id"),
    )
