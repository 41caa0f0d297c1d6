"""Queries of erasure and export: records merged into a customer, consent scrubbing and the erasure audit."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.customer.consent.tables import Consent, ConsentRecord
from services.customer.customers.tables import Customer, CustomerKey
from services.customer.privacy.tables import CustomerErasure
from shared.lifecycle import ERASED_TEXT


def merged_into(session: Session, tenant: str, survivor_id: uuid.UUID, limit: int = 10_000) -> list[Customer]:
    """Every record folded into this one, directly or through earlier merges (breadth first, bounded)."""
    found: list[Customer] = []
    frontier = [survivor_id]
    while frontier and len(found) < limit:
        rows = list(session.scalars(select(Customer).where(Customer.tenant_id == tenant,
                                                           Customer.merged_into.in_(frontier)).order_by(Customer.id)))
        found += rows
        frontier = [row.id for row in rows]
    return found


def drop_keys(session: Session, tenant: str, ids: list[uuid.UUID]) -> None:
    session.execute(delete(CustomerKey).where(CustomerKey.tenant_id == tenant, CustomerKey.customer_id.in_(ids)))


def scrub_consent(session: Session, tenant: str, ids: list[uuid.UUID]) -> None:
    """Consent keeps channel, status and time: the proof an erased customer had (not) agreed, and nothing else."""
    for table in (Consent, ConsentRecord):
        session.execute(update(table).where(table.tenant_id == tenant, table.customer_id.in_(ids))
                        .values(source=ERASED_TEXT, wording=None, recorded_by=ERASED_TEXT))


def erasure_of(session: Session, tenant: str, customer_id: uuid.UUID) -> CustomerErasure | None:
    return session.get(CustomerErasure, (tenant, customer_id))
