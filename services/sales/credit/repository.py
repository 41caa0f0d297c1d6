"""The queries of a credit check: what a customer's confirmed, uninvoiced orders are worth, per currency."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.sales.invoices.tables import Invoice
from services.sales.orders.rules import COMMITTED
from services.sales.orders.tables import Order, OrderReturn


def uninvoiced_orders(session: Session, tenant: str, customer_id: uuid.UUID, *,
                      excluding: uuid.UUID | None = None) -> dict[str, Decimal]:
    """Per currency: the customer's confirmed (shipped, delivered) orders with no invoice yet, less their returns."""
    invoiced = select(Invoice.id).where(Invoice.tenant_id == tenant, Invoice.order_id == Order.id).exists()
    returned = (select(func.coalesce(func.sum(OrderReturn.amount), 0))
                .where(OrderReturn.tenant_id == tenant, OrderReturn.order_id == Order.id).scalar_subquery())
    query = (select(Order.currency, func.sum(Order.total - returned))
             .where(Order.tenant_id == tenant, Order.customer_id == customer_id, Order.status.in_(COMMITTED), ~invoiced)
             .group_by(Order.currency))
    if excluding is not None:
        query = query.where(Order.id != excluding)
    return {row[0]: Decimal(row[1]) for row in session.execute(query) if row[1] is not None}
