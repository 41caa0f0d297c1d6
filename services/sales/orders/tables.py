"""Orders, their status history and their returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    # The won deal it was made from (its lines copied); None: placed directly.
    opportunity_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    # What redeemed loyalty points took off the total (already deducted from it); None: no redemption.
    loyalty_discount: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    # Priced lines as opportunities keep them ({product_id, quantity, unit_price, discount_percent, line_total,
    # price_book_id, reason}, decimals as strings). What came back is the returns' (never stored twice).
    lines: Mapped[list[Any]]
    # The last credit check's figures (CreditFigures as JSON); None: not checked yet (or no limit applied).
    credit: Mapped[dict[str, Any] | None]
    approved_by: Mapped[str | None] = mapped_column(String(200))
    # How the order came (rules.CHANNELS); None only for what no migration or placement set.
    channel: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_orders_tenant_id", "tenant_id", "id"),
        Index("ix_orders_tenant_customer_status", "tenant_id", "customer_id", "status"),
        Index("ix_orders_tenant_opportunity", "tenant_id", "opportunity_id"),
    )


class OrderChange(Base):
    """One move of an order from a status to another (``from_status`` None: it was placed)."""

    __tablename__ = "order_status_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[uuid.UUID]
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime]
    # What the change carried: a credit check's figures, a cancellation's reason, a return's id.
    details: Mapped[dict[str, Any] | None]

    __table_args__ = (Index("ix_order_status_changes_order", "tenant_id", "order_id", "id"),)


class OrderReturn(Base):
    """Goods that came back: quantities per order line and their value."""

    __tablename__ = "order_returns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    # [{line, product_id, quantity, amount}] (decimals as strings).
    lines: Mapped[list[Any]]
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_order_returns_order", "tenant_id", "order_id", "id"),)
