"""Queries of merges: the participants (locked), their consent, and the merge records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.customer.consent.tables import Consent
from services.customer.customers.tables import Customer
from services.customer.merging.tables import CustomerMerge


def rows_for_update(session: Session, tenant: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """The tenant's rows with these ids (deleted and merged ones too, so a refusal can say why), locked.

    Locked in id order, so two merges over overlapping records cannot deadlock each other.
    """
    rows = session.scalars(select(Customer).where(Customer.tenant_id == tenant, Customer.id.in_(ids))
                           .order_by(Customer.id).with_for_update())
    return {row.id: row for row in rows}


def consents_of(session: Session, tenant: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Consent]]:
    """Each customer's current consent rows by channel (channels never recorded are absent)."""
    found: dict[uuid.UUID, dict[str, Consent]] = {customer_id: {} for customer_id in ids}
    rows = session.scalars(select(Consent).where(Consent.tenant_id == tenant, Consent.customer_id.in_(ids)))
    for row in rows:
        found[row.customer_id][row.channel] = row
    return found


def get_merge(session: Session, tenant: str, merge_id: uuid.UUID) -> CustomerMerge | None:
    return session.scalar(select(CustomerMerge).where(CustomerMerge.tenant_id == tenant, CustomerMerge.id == merge_id)
                          .with_for_update())


def merges_in_effect(session: Session, tenant: str, survivor_id: uuid.UUID) -> list[CustomerMerge]:
    """The survivor's merges neither undone nor erased, newest first."""
    return list(session.scalars(select(CustomerMerge).where(
        CustomerMerge.tenant_id == tenant, CustomerMerge.survivor_id == survivor_id,
        CustomerMerge.undone_at.is_(None), CustomerMerge.erased_at.is_(None))
        .order_by(CustomerMerge.merged_at.desc(), CustomerMerge.id.desc())))


def merges_of(session: Session, tenant: str, survivor_id: uuid.UUID) -> list[CustomerMerge]:
    """Every merge into this survivor, undone ones too, newest first."""
    return list(session.scalars(select(CustomerMerge).where(
        CustomerMerge.tenant_id == tenant, CustomerMerge.survivor_id == survivor_id)
        .order_by(CustomerMerge.merged_at.desc(), CustomerMerge.id.desc())))


def merges_involving(session: Session, tenant: str, ids: set[uuid.UUID]) -> list[CustomerMerge]:
    """Merges in which any of these customers took part, as survivor or as duplicate.

    The merged ids live in a JSON list, so the duplicates are matched here rather than by
    the database: erasures, the only caller, are rare and a tenant's merges are few.
    """
    wanted = {str(i) for i in ids}
    rows = session.scalars(select(CustomerMerge).where(CustomerMerge.tenant_id == tenant).order_by(CustomerMerge.id))
    return [m for m in rows if str(m.survivor_id) in wanted or wanted & set(m.merged_ids)]


def final_survivor(session: Session, tenant: str, customer_id: uuid.UUID, limit: int = 50) -> uuid.UUID | None:
    """Where a merged-away customer lives now: the end of its ``merged_into`` chain (bounded)."""
    current: uuid.UUID | None = customer_id
    for _ in range(limit):
        target = session.scalar(select(Customer.merged_into).where(Customer.tenant_id == tenant, Customer.id == current))
        if target is None:
            return current if current != customer_id else None
        current = target
    return current


def snapshot(row: Customer, state: dict[str, Any]) -> dict[str, Any]:
    """What an unmerge needs to put a record back as it was."""
    return {"state": state, "version": row.version, "updated_at": row.updated_at.isoformat(),
            "customer_group": row.customer_group, "value_tier": row.value_tier}
