"""The products table: what sales sells, each with its SKU, category path, cost price and bundle components;
and the history of cost prices, by the day each took effect."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class Product(Base):
    """A product or a service. A bundle lists its components as ``[{"product_id", "quantity"}]``
    (decimal strings); the list is small and always read whole, so it is a JSON column."""

    __tablename__ = "products"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # "Hardware/Laptops": a path of names from the top of the hierarchy down.
    category: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(String(2000))
    cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool]
    components: Mapped[list[Any]]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_products_tenant_id", "tenant_id", "id"),
        Index("ux_products_tenant_sku", "tenant_id", "sku", unique=True),
        Index("ix_products_tenant_category", "tenant_id", "category"),
    )


class ProductCost(Base):
    """A product's cost price from ``valid_from`` on (until the next row's day): what profitability costs a sale
    at on its invoice's day. No amount: the product had no cost price from that day."""

    __tablename__ = "product_costs"

    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    valid_from: Mapped[date] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    recorded_at: Mapped[datetime]
