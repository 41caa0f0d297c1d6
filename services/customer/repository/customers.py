"""Queries of the customer master."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.customer.tables import Customer
from shared.http import PageRequest


def get_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.tenant_id == tenant, Customer.id == customer_id, Customer.deleted_at.is_(None))
    )


def list_customers(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Customer]:
    """One page plus one row, in id (= creation) order; the extra row tells whether more exist."""
    query = select(Customer).where(Customer.tenant_id == tenant, Customer.deleted_at.is_(None))
    for name in ("kind", "country", "region"):
        if filters.get(name) is not None:
            query = query.where(getattr(Customer, name) == filters[name])
    if page.after is not None:
        query = query.where(Customer.id > page.after)
    return list(session.scalars(query.order_by(Customer.id).limit(page.limit + 1)))
