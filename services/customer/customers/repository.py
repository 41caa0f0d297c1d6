"""Queries of the customer master: customers, their search keys and hierarchy walks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from services.customer.customers import rules
from services.customer.customers.rules import Cursor, Sort, like_escaped, prefix_upper_bound
from services.customer.customers.tables import Customer, CustomerKey

# --- mapping between rows and domain state ------------------------------------------------

_ID_FIELDS = ("parent_id", "organization_id")


def state_of(customer: Customer) -> dict[str, Any]:
    """The domain state (JSON-native values) of a row."""
    state: dict[str, Any] = {}
    for name in rules.PROFILE_FIELDS:
        if name == "lifetime_value":
            currency = customer.lifetime_value_currency
            state[name] = None if currency is None else rules.money(
                {"amount": customer.lifetime_value_amount, "currency": currency}, name)
        elif name in _ID_FIELDS:
            value = getattr(customer, name)
            state[name] = None if value is None else str(value)
        else:
            state[name] = getattr(customer, name)
    return state


def row_values(state: dict[str, Any]) -> dict[str, Any]:
    """Column values of a row holding ``state`` (the derived columns included)."""
    values = {name: state.get(name) for name in rules.PROFILE_FIELDS if name != "lifetime_value"}
    for name in _ID_FIELDS:
        values[name] = None if state.get(name) is None else uuid.UUID(state[name])
    lifetime = state.get("lifetime_value")
    values["lifetime_value_amount"] = Decimal(lifetime["amount"]) if lifetime else Decimal(0)
    values["lifetime_value_currency"] = lifetime["currency"] if lifetime else None
    values["display_name"] = rules.display_name(state)
    values["name_search"] = rules.search_name(values["display_name"])
    values["tags"] = state.get("tags") or []
    values["custom_fields"] = state.get("custom_fields") or {}
    return values


def document_of(customer: Customer) -> dict[str, Any]:
    return rules.customer_document(
        state_of(customer), customer_id=customer.id, version=customer.version, created_at=customer.created_at,
        updated_at=customer.updated_at, customer_group=customer.customer_group, value_tier=customer.value_tier)


# --- single customers -----------------------------------------------------------------------


def get_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.tenant_id == tenant, Customer.id == customer_id, Customer.deleted_at.is_(None))
    )


def any_customer(session: Session, tenant: str, customer_id: uuid.UUID, *, lock: bool = False) -> Customer | None:
    """The row whatever its state: live, deleted, merged away or erased (locked for a change if asked)."""
    query = select(Customer).where(Customer.tenant_id == tenant, Customer.id == customer_id)
    return session.scalar(query.with_for_update() if lock else query)


def customer_by_external_id(session: Session, tenant: str, external_id: str) -> uuid.UUID | None:
    """Whoever holds an external id, deleted customers included (the id stays theirs)."""
    return session.scalar(select(Customer.id).where(Customer.tenant_id == tenant, Customer.external_id == external_id))


def live_pages(session: Session, tenant: str, *columns: Any, batch_size: int = 5000) -> Iterator[list[Any]]:
    """The id and the given columns (or entity) of the tenant's live customers, in creation (id) order,
    a batch of rows at a time."""
    after: uuid.UUID | None = None
    while True:
        query = select(Customer.id, *columns).where(Customer.tenant_id == tenant, Customer.deleted_at.is_(None),
                                                    Customer.merged_into.is_(None))
        if after is not None:
            query = query.where(Customer.id > after)
        rows = session.execute(query.order_by(Customer.id).limit(batch_size)).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def all_customers(session: Session, tenant: str, batch_size: int = 5000) -> Iterator[list[Customer]]:
    """The tenant's live customers in creation (id) order, a batch at a time."""
    for rows in live_pages(session, tenant, Customer, batch_size=batch_size):
        yield [row[1] for row in rows]


def kind_of(session: Session, tenant: str, customer_id: str) -> str | None:
    try:
        wanted = uuid.UUID(customer_id)
    except ValueError:
        return None
    return session.scalar(select(Customer.kind).where(
        Customer.tenant_id == tenant, Customer.id == wanted, Customer.deleted_at.is_(None),
        Customer.merged_into.is_(None)))


def ancestors_of(session: Session, tenant: str, customer_id: str, limit: int = rules.MAX_HIERARCHY_DEPTH + 1) -> list[str]:
    """The chain of parents above a customer, nearest first (bounded, so a corrupt loop cannot hang us)."""
    chain: list[str] = []
    current: uuid.UUID | None = uuid.UUID(customer_id)
    while current is not None and len(chain) < limit:
        current = session.scalar(select(Customer.parent_id).where(Customer.tenant_id == tenant, Customer.id == current))
        if current is not None:
            chain.append(str(current))
    return chain


def has_dependants(session: Session, tenant: str, customer_id: uuid.UUID) -> bool:
    """Whether subsidiaries or persons still point at this organization."""
    return session.scalar(select(func.count()).select_from(Customer).where(
        Customer.tenant_id == tenant, Customer.deleted_at.is_(None),
        or_(Customer.parent_id == customer_id, Customer.organization_id == customer_id))) > 0


def hierarchy_rows(session: Session, tenant: str, root_id: uuid.UUID) -> list[Customer]:
    """Every organization below ``root_id`` (any depth), by a recursive query both backends run."""
    tree = select(Customer.id).where(Customer.tenant_id == tenant, Customer.parent_id == root_id).cte(
        "tree", recursive=True)
    tree = tree.union(select(Customer.id).where(Customer.tenant_id == tenant, Customer.parent_id == tree.c.id))
    return list(session.scalars(select(Customer).where(
        Customer.id.in_(select(tree.c.id)), Customer.deleted_at.is_(None)).order_by(Customer.name_search, Customer.id)))


def replace_keys(session: Session, tenant: str, customer_id: uuid.UUID, old: set[tuple[str, str]],
                 new: set[tuple[str, str]]) -> None:
    """Keep the customer's search keys equal to ``new`` (only the difference is written)."""
    for kind, value in old - new:
        session.execute(delete(CustomerKey).where(
            CustomerKey.tenant_id == tenant, CustomerKey.kind == kind, CustomerKey.value == value,
            CustomerKey.customer_id == customer_id))
    added = [{"tenant_id": tenant, "kind": k, "value": v, "customer_id": customer_id} for k, v in sorted(new - old)]
    if added:
        session.execute(insert(CustomerKey), added)


# --- search ---------------------------------------------------------------------------------


@dataclass
class Filters:
    """What a customer list is narrowed by; every value already normalised by the search rules."""

    kind: str | None = None
    name_prefix: str | None = None
    name_contains: str | None = None
    keys: list[tuple[str, str]] = field(default_factory=list)  # ("email", ...), ("phone", ...), ("tag", ...)
    equal: dict[str, Any] = field(default_factory=dict)  # column -> value
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


def search_customers(session: Session, tenant: str, filters: Filters, sort: Sort, cursor: Cursor | None,
                     limit: int) -> list[Customer]:
    """One page plus one row (the extra row tells whether more exist), walked by keyset on (sort key, id)."""
    query = select(Customer).where(
        Customer.tenant_id == tenant, Customer.deleted_at.is_(None), Customer.merged_into.is_(None))
    if filters.kind is not None:
        query = query.where(Customer.kind == filters.kind)
    for column, value in filters.equal.items():
        query = query.where(getattr(Customer, column) == value)
    if filters.name_prefix:
        query = query.where(Customer.name_search >= filters.name_prefix,
                            Customer.name_search < prefix_upper_bound(filters.name_prefix))
    if filters.name_contains:
        query = query.where(Customer.name_search.like(f"%{like_escaped(filters.name_contains)}%", escape="\\"))
    for kind, value in filters.keys:
        query = query.where(Customer.id.in_(select(CustomerKey.customer_id).where(
            CustomerKey.tenant_id == tenant, CustomerKey.kind == kind, CustomerKey.value == value)))
    for column, bound, after in (("created_at", filters.created_after, True), ("created_at", filters.created_before, False),
                                 ("updated_at", filters.updated_after, True), ("updated_at", filters.updated_before, False)):
        if bound is not None:
            attribute = getattr(Customer, column)
            query = query.where(attribute >= bound if after else attribute < bound)
    if sort.column == "id":
        if cursor is not None:
            query = query.where(Customer.id < cursor.after_id if sort.descending else Customer.id > cursor.after_id)
        order = [Customer.id.desc() if sort.descending else Customer.id]
    else:
        key = getattr(Customer, sort.column)
        if cursor is not None:
            if sort.descending:
                query = query.where(or_(key < cursor.key, and_(key == cursor.key, Customer.id < cursor.after_id)))
            else:
                query = query.where(or_(key > cursor.key, and_(key == cursor.key, Customer.id > cursor.after_id)))
        order = [key.desc(), Customer.id.desc()] if sort.descending else [key, Customer.id]
    return list(session.scalars(query.order_by(*order).limit(limit + 1)))


def sort_key(customer: Customer, sort: Sort) -> Any:
    return None if sort.column == "id" else getattr(customer, sort.column)
