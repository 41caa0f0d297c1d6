"""Every query of orders, their history and their returns."""

from __future__ import annotations

import uuid
from typing import Any

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.sales.leads.tables import Lead
from services.sales.orders.tables import Order, OrderChange, OrderReturn
from shared.http import PageRequest

FILTERS = ("customer_id", "status", "opportunity_id")


def get_order(session: Session, tenant: str, order_id: uuid.UUID, *, lock: bool = False) -> Order | None:
    query = select(Order).where(Order.tenant_id == tenant, Order.id == order_id)
    return session.scalar(query.with_for_update() if lock else query)


def list_orders(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Order]:
    query = select(Order).where(Order.tenant_id == tenant)
    for name in FILTERS:
        if filters.get(name) is not None:
            query = query.where(getattr(Order, name) == filters[name])
    if page.after is not None:
        query = query.where(Order.id > page.after)
    return list(session.scalars(query.order_by(Order.id).limit(page.limit + 1)))


def live_order_of_deal(session: Session, tenant: str, opportunity_id: uuid.UUID) -> Order | None:
    return session.scalar(select(Order).where(Order.tenant_id == tenant, Order.opportunity_id == opportunity_id,
                                              Order.status != "cancelled").limit(1))


def lead_source_of_deal(session: Session, tenant: str, opportunity_id: uuid.UUID) -> str | None:
    """The source of the lead the deal was converted from; None: the deal came from no lead."""
    return session.scalar(select(Lead.source).where(Lead.tenant_id == tenant, Lead.opportunity_id == opportunity_id)
                          .order_by(Lead.id).limit(1))


def changes(session: Session, tenant: str, order_id: uuid.UUID, page: PageRequest) -> list[OrderChange]:
    query = select(OrderChange).where(OrderChange.tenant_id == tenant, OrderChange.order_id == order_id)
    if page.after is not None:
        query = query.where(OrderChange.id > page.after)
    return list(session.scalars(query.order_by(OrderChange.id).limit(page.limit + 1)))


def returns_of(session: Session, tenant: str, order_ids: set[uuid.UUID]) -> list[OrderReturn]:
    if not order_ids:
        return []
    return list(session.scalars(select(OrderReturn).where(OrderReturn.tenant_id == tenant,
                                                          OrderReturn.order_id.in_(order_ids))
                                .order_by(OrderReturn.id)))


def get_return(session: Session, tenant: str, return_id: uuid.UUID) -> OrderReturn | None:
    return session.scalar(select(OrderReturn).where(OrderReturn.tenant_id == tenant, OrderReturn.id == return_id))


def returned_amount(session: Session, tenant: str, order_id: uuid.UUID) -> Decimal:
    found = session.scalar(select(func.coalesce(func.sum(OrderReturn.amount), 0)).where(
        OrderReturn.tenant_id == tenant, OrderReturn.order_id == order_id))
    return Decimal(found or 0)
