"""Payments received from customers and their allocations to invoices."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class Payment(Base):
    """Money received. What no allocation took is the customer's credit (an over-payment asked for)."""

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_payments_tenant_id", "tenant_id", "id"),
        Index("ix_payments_tenant_customer", "tenant_id", "customer_id", "id"),
    )


class Allocation(Base):
    """Part of a payment settling part of an invoice."""

    __tablename__ = "payment_allocations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[uuid.UUID]
    invoice_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))

    __table_args__ = (
        Index("ix_payment_allocations_invoice", "tenant_id", "invoice_id"),
        Index("ix_payment_allocations_payment", "tenant_id", "payment_id"),
    )
