"""Every query of payments and their allocations."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.sales.payments.tables import Allocation, Payment
from shared.http import PageRequest


def get_payment(session: Session, tenant: str, payment_id: uuid.UUID) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.tenant_id == tenant, Payment.id == payment_id))


def list_payments(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Payment]:
    query = select(Payment).where(Payment.tenant_id == tenant)
    if filters.get("customer_id") is not None:
        query = query.where(Payment.customer_id == filters["customer_id"])
    if page.after is not None:
        query = query.where(Payment.id > page.after)
    return list(session.scalars(query.order_by(Payment.id).limit(page.limit + 1)))


def credits_of(session: Session, tenant: str, customer_id: uuid.UUID, currency: str) -> list[tuple[Payment, Decimal]]:
    """The customer's payments in ``currency`` with something left over (its credit), oldest first, with what is
    left of each."""
    payments = select(Payment.id).where(Payment.tenant_id == tenant, Payment.customer_id == customer_id,
                                        Payment.currency == currency)
    allocated = (select(Allocation.payment_id, func.sum(Allocation.amount).label("allocated"))
                 .where(Allocation.tenant_id == tenant, Allocation.payment_id.in_(payments))
                 .group_by(Allocation.payment_id).subquery())
    rows = session.execute(select(Payment, func.coalesce(allocated.c.allocated, 0))
                           .outerjoin(allocated, allocated.c.payment_id == Payment.id)
                           .where(Payment.tenant_id == tenant, Payment.customer_id == customer_id,
                                  Payment.currency == currency)
                           .order_by(Payment.received_on, Payment.created_at, Payment.id))
    return [(payment, payment.amount - Decimal(used)) for payment, used in rows if payment.amount > Decimal(used)]


def allocations_to(session: Session, tenant: str, invoice_id: uuid.UUID) -> list[Allocation]:
    """What payments gave an invoice, the newest payment first."""
    return list(session.scalars(
        select(Allocation).join(Payment, (Payment.id == Allocation.payment_id) & (Payment.tenant_id == Allocation.tenant_id))
        .where(Allocation.tenant_id == tenant, Allocation.invoice_id == invoice_id)
        .order_by(Payment.received_on.desc(), Payment.created_at.desc(), Allocation.id.desc())))


def allocations_of(session: Session, tenant: str, payment_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[Allocation]]:
    found: dict[uuid.UUID, list[Allocation]] = {p: [] for p in payment_ids}
    if payment_ids:
        for row in session.scalars(select(Allocation).where(Allocation.tenant_id == tenant,
                                                            Allocation.payment_id.in_(payment_ids))
                                   .order_by(Allocation.id)):
            found[row.payment_id].append(row)
    return found
