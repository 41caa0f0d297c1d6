"""Credit notes: what an invoice is reduced by, for goods returned or a correction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class CreditNote(Base):
    __tablename__ = "credit_notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    invoice_id: Mapped[uuid.UUID]
    number: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # return or correction
    # The return it credits (kind return); one credit note per return.
    return_id: Mapped[uuid.UUID | None]
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    issued_on: Mapped[date]
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_credit_notes_tenant_id", "tenant_id", "id"),
        Index("ix_credit_notes_tenant_invoice", "tenant_id", "invoice_id"),
        Index("ux_credit_notes_tenant_number", "tenant_id", "number", unique=True),
        Index("ux_credit_notes_tenant_return", "tenant_id", "return_id", unique=True),
    )
