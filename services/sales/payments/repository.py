"""Every query of payments and their allocations."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
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


def allocations_of(session: Session, tenant: str, payment_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[Allocation]]:
    found: dict[uuid.UUID, list[Allocation]] = {p: [] for p in payment_ids}
    if payment_ids:
        for row in session.scalars(select(Allocation).where(Allocation.tenant_id == tenant,
                                                            Allocation.payment_id.in_(payment_ids))
                                   .order_by(Allocation.id)):
            found[row.payment_id].append(row)
    return found
