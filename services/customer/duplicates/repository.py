"""Queries of duplicate detection: pairs of live customers that share a key or a name."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from services.customer.customers.tables import Customer, CustomerKey

# Keys that identify a person or organization (tags do not).
IDENTIFYING = ("email", "phone")
NAME_PREFIX = 3


def key_pairs(session: Session, tenant: str, customer_id: uuid.UUID | None, limit: int) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Pairs sharing a normalised e-mail or phone; merged and deleted customers have no keys, so never appear."""
    a, b = aliased(CustomerKey), aliased(CustomerKey)
    query = select(a.customer_id, b.customer_id).join(b, and_(
        b.tenant_id == a.tenant_id, b.kind == a.kind, b.value == a.value)).where(
        a.tenant_id == tenant, a.kind.in_(IDENTIFYING))
    if customer_id is None:
        query = query.where(a.customer_id < b.customer_id)
    else:
        query = query.where(a.customer_id == customer_id, b.customer_id != customer_id)
    return {_pair(x, y) for x, y in session.execute(query.distinct().limit(limit))}


def name_pairs(session: Session, tenant: str, customer_id: uuid.UUID | None, limit: int) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Tenant-wide: pairs with the same normalised name. For one customer: others whose name starts alike."""
    live = (Customer.tenant_id == tenant, Customer.deleted_at.is_(None), Customer.merged_into.is_(None))
    if customer_id is not None:
        name = session.scalar(select(Customer.name_search).where(*live, Customer.id == customer_id))
        if not name:
            return set()
        prefix = name[:NAME_PREFIX]
        others = session.scalars(select(Customer.id).where(
            *live, Customer.name_search >= prefix, Customer.name_search < prefix + "\U0010ffff",
            Customer.id != customer_id).limit(limit))
        return {_pair(customer_id, other) for other in others}
    shared = select(Customer.name_search).where(*live).group_by(Customer.name_search).having(
        func.count() > 1).limit(limit).subquery()
    rows = session.execute(select(Customer.name_search, Customer.id).where(
        *live, Customer.name_search.in_(select(shared.c.name_search))).order_by(Customer.name_search, Customer.id))
    groups: dict[str, list[uuid.UUID]] = {}
    for name, found in rows:
        groups.setdefault(name, []).append(found)
    return {_pair(x, y) for ids in groups.values() for i, x in enumerate(ids) for y in ids[i + 1:]}


def live_rows(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    rows = session.scalars(select(Customer).where(Customer.tenant_id == tenant, Customer.id.in_(ids),
                                                  Customer.deleted_at.is_(None), Customer.merged_into.is_(None)))
    return {row.id: row for row in rows}


def sharing_keys(session: Session, tenant: str, customer_id: uuid.UUID, keys: set[tuple[str, str]]) -> list[uuid.UUID]:
    """Other customers holding any of these e-mail or phone keys (one index lookup each)."""
    found: set[uuid.UUID] = set()
    for kind, value in sorted(k for k in keys if k[0] in IDENTIFYING):
        found.update(session.scalars(select(CustomerKey.customer_id).where(
            CustomerKey.tenant_id == tenant, CustomerKey.kind == kind, CustomerKey.value == value,
            CustomerKey.customer_id != customer_id)))
    return sorted(found)


def _pair(x: uuid.UUID, y: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (x, y) if x < y else (y, x)
