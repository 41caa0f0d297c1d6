"""The price books and their entries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class PriceBook(Base):
    """Unit prices in one currency for a segment (group, tier, both or everybody), valid [valid_from, valid_to)."""

    __tablename__ = "price_books"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    customer_group: Mapped[str | None] = mapped_column(String(100))
    value_tier: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_price_books_tenant_id", "tenant_id", "id"),
        # Quotes and the overlap check look books up by currency among the active ones.
        Index("ix_price_books_tenant_currency", "tenant_id", "currency", "status"),
    )


class PriceBookEntry(Base):
    """One product's unit price in a book, from ``min_quantity`` units on."""

    __tablename__ = "price_book_entries"

    price_book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("price_books.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[uuid.UUID]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    min_quantity: Mapped[Decimal] = mapped_column(Numeric(13, 4))

    __table_args__ = (
        # A quote finds every entry for its products; a book's entries come with its key.
        Index("ix_price_book_entries_tenant_product", "tenant_id", "product_id"),
    )
