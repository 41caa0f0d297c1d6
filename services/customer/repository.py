"""Every query of the customer service, and nothing else queries its tables."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.customer.domain import Fact
from services.customer.tables import Customer, CustomerView, ViewFact
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


def get_view(session: Session, customer_id: uuid.UUID) -> CustomerView | None:
    return session.get(CustomerView, customer_id)


def get_view_of(session: Session, tenant: str, customer_id: uuid.UUID) -> CustomerView | None:
    return session.scalar(
        select(CustomerView).where(CustomerView.tenant_id == tenant, CustomerView.customer_id == customer_id)
    )


def known_fact_sequence(session: Session, fact: Fact) -> int | None:
    return session.scalar(
        select(ViewFact.sequence).where(
            ViewFact.source == fact.source, ViewFact.entity == fact.entity, ViewFact.entity_id == fact.entity_id
        )
    )


def save_fact(session: Session, tenant: str, fact: Fact) -> None:
    row = session.get(ViewFact, (fact.source, fact.entity, fact.entity_id))
    if row is None:
        row = ViewFact(source=fact.source, entity=fact.entity, entity_id=fact.entity_id, tenant_id=tenant)
        session.add(row)
    row.customer_id = fact.customer_id
    row.sequence = fact.sequence
    row.state = fact.state


def facts_of(session: Session, customer_id: uuid.UUID) -> list[Fact]:
    rows = session.scalars(select(ViewFact).where(ViewFact.customer_id == customer_id).order_by(
        ViewFact.source, ViewFact.entity, ViewFact.entity_id))
    return [Fact(r.source, r.entity, r.entity_id, r.customer_id, r.sequence, r.state) for r in rows]


def forget_view(session: Session, customer_id: uuid.UUID) -> None:
    session.execute(delete(ViewFact).where(ViewFact.customer_id == customer_id))
    session.execute(delete(CustomerView).where(CustomerView.customer_id == customer_id))
