"""Queries of the unified view: views and the facts they are computed from."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.customer.domain.view import Fact
from services.customer.tables import CustomerView, ViewFact


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
