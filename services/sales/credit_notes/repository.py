"""Every query of credit notes."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.sales.credit_notes.tables import CreditNote
from shared.http import PageRequest


def get_credit_note(session: Session, tenant: str, credit_note_id: uuid.UUID) -> CreditNote | None:
    return session.scalar(select(CreditNote).where(CreditNote.tenant_id == tenant, CreditNote.id == credit_note_id))


def of_return(session: Session, tenant: str, return_id: uuid.UUID) -> CreditNote | None:
    return session.scalar(select(CreditNote).where(CreditNote.tenant_id == tenant, CreditNote.return_id == return_id))


def credited(session: Session, tenant: str, invoice_id: uuid.UUID) -> Decimal:
    return Decimal(session.scalar(select(func.coalesce(func.sum(CreditNote.amount), 0)).where(
        CreditNote.tenant_id == tenant, CreditNote.invoice_id == invoice_id)) or 0)


def list_credit_notes(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[CreditNote]:
    query = select(CreditNote).where(CreditNote.tenant_id == tenant)
    for name in ("customer_id", "invoice_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(CreditNote, name) == filters[name])
    if page.after is not None:
        query = query.where(CreditNote.id > page.after)
    return list(session.scalars(query.order_by(CreditNote.id).limit(page.limit + 1)))
