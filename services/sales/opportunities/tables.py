"""The opportunities table, and the history of their stage changes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    # A stage of the tenant's pipeline (pipeline_stages); status, category and probability follow from it.
    stage: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10))
    forecast_category: Mapped[str] = mapped_column(String(20))
    probability: Mapped[int]
    owner: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(100))
    # The customer's region as the deal last saw its published view (kept by the forecast, which groups by it).
    region: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(String(500))
    competitor: Mapped[str | None] = mapped_column(String(200))
    # The products of the deal, priced ({product_id, quantity, unit_price, discount_percent, line_total,
    # price_book_id, reason}, decimals as strings); the amount is their sum when there are any.
    lines: Mapped[list[Any] | None]
    expected_close_date: Mapped[date | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_opportunities_tenant_id", "tenant_id", "id"),
        Index("ix_opportunities_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_opportunities_tenant_stage", "tenant_id", "stage", "status"),
        Index("ix_opportunities_tenant_owner", "tenant_id", "owner", "id"),
        Index("ix_opportunities_tenant_team", "tenant_id", "team", "id"),
    )


class StageChange(Base):
    """One move of a deal from a stage to another (``from_stage`` None: it was opened there)."""

    __tablename__ = "opportunity_stage_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    opportunity_id: Mapped[uuid.UUID]
    from_stage: Mapped[str | None] = mapped_column(String(50))
    to_stage: Mapped[str] = mapped_column(String(50))
    # What the deal was worth when it moved.
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    # The subject of the caller's token; None for a change no caller made (e.g. a lead's conversion by a job).
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_opportunity_stage_changes_opportunity", "tenant_id", "opportunity_id", "id"),
    )
