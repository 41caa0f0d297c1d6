"""Invoices, and the counters their (and credit notes') gap-free numbers are drawn from."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class Invoice(Base):
    """What a customer owes for an order. Its open amount is never stored: it is the total less the payments
    allocated to it, its credit notes and its write-off (``repository.open_amounts``)."""

    __tablename__ = "invoices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID]
    number: Mapped[str] = mapped_column(String(20))
    issued_on: Mapped[date]
    due_on: Mapped[date]
    payment_terms_days: Mapped[int]
    total: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    # open, paid or written_off; overdue is open past due_on, a fact of the day asked about, not stored.
    status: Mapped[str] = mapped_column(String(20))
    # The bad debt written off (the open amount at the write-off) and why; it closes the invoice.
    written_off: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    write_off_reason: Mapped[str | None] = mapped_column(String(500))
    # The day of the write-off: receivables as of an earlier day still count what it closed.
    written_off_on: Mapped[date | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_invoices_tenant_id", "tenant_id", "id"),
        Index("ux_invoices_tenant_number", "tenant_id", "number", unique=True),
        # One invoice per order: the whole order is invoiced at once.
        Index("ux_invoices_tenant_order", "tenant_id", "order_id", unique=True),
        Index("ix_invoices_tenant_customer_status", "tenant_id", "customer_id", "status", "due_on"),
    )


class DocumentCounter(Base):
    """The last number drawn per tenant, series (invoice, credit note) and year. Drawn in the transaction of
    the document it numbers, its row locked: a rolled-back document gives its number back, so none is skipped."""

    __tablename__ = "document_counters"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]
