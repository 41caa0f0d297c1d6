"""Every query of cross-sell offers: similar customers' baskets counted in SQL, the touched segments and the
published hashes.

Baskets are read from the order lines (JSON) opened as rows (``profitability.repository.line_items``);
the similar customers are a capped CTE, so each count reads at most ``rules.SIMILAR_CAP`` baskets.
Products are compared as the text the lines keep.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, distinct, exists, func, or_, select, true
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.invoices.tables import Invoice
from services.sales.offers import rules
from services.sales.offers.tables import OfferPublication, SegmentTouch
from services.sales.orders.tables import Order
from services.sales.products.tables import Product
from services.sales.profitability.repository import line_items


def _in_basket() -> ColumnElement[bool]:
    """Delivered or invoiced, and neither cancelled nor returned in full."""
    invoiced = exists().where(Invoice.tenant_id == Order.tenant_id, Invoice.order_id == Order.id)
    return and_(Order.status.not_in(("cancelled", "returned")), or_(Order.status == "delivered", invoiced))


def _in_segment(segment: rules.Segment) -> ColumnElement[bool]:
    group = CustomerReplica.view["profile"]["customer_group"].as_string()
    tier = CustomerReplica.view["profile"]["value_tier"].as_string()
    return and_(group.is_(None) if segment.customer_group is None else group == segment.customer_group,
                tier.is_(None) if segment.value_tier is None else tier == segment.value_tier)


def _similar(tenant: str, segment: rules.Segment, customer_id: uuid.UUID) -> Any:
    """The segment's customers with a basket, C excluded: the ``SIMILAR_CAP`` who bought most recently."""
    last = func.max(Order.updated_at)
    return (select(Order.customer_id.label("customer_id"))
            .join(CustomerReplica, and_(CustomerReplica.tenant_id == Order.tenant_id,
                                        CustomerReplica.customer_id == Order.customer_id))
            .where(Order.tenant_id == tenant, Order.customer_id != customer_id, _in_basket(), _in_segment(segment))
            .group_by(Order.customer_id)
            .order_by(last.desc(), Order.customer_id)
            .limit(rules.SIMILAR_CAP)
            .cte("similar"))


def _pairs(session: Session, tenant: str, similar: Any) -> Any:
    """(customer, product) once per product in a similar customer's baskets."""
    lines = line_items(session, Order.lines)
    product = lines.text("product_id")
    return (select(Order.customer_id.label("customer_id"), product.label("product"))
            .select_from(Order).join(lines.rows, true())
            .where(Order.tenant_id == tenant, _in_basket(), Order.customer_id.in_(select(similar.c.customer_id)))
            .group_by(Order.customer_id, product)
            .cte("pairs"))


def owned(session: Session, tenant: str, customer_id: uuid.UUID) -> set[str]:
    """The products on the customer's orders that were not cancelled."""
    lines = line_items(session, Order.lines)
    product = lines.text("product_id")
    query: Select[Any] = (select(product).distinct().select_from(Order).join(lines.rows, true())
                          .where(Order.tenant_id == tenant, Order.customer_id == customer_id,
                                 Order.status != "cancelled"))
    return {str(text) for text in session.scalars(query) if text}


def counts(session: Session, tenant: str, segment: rules.Segment, customer_id: uuid.UUID,
           owned_products: set[str]) -> tuple[int, list[rules.Counts]]:
    """How many similar customers there are, and per product they bought that the customer does not own: its
    buyers, its co-buyers (who also bought an owned product) and the owned product most of them bought."""
    similar = _similar(tenant, segment, customer_id)
    pairs = _pairs(session, tenant, similar)
    n_similar = int(session.scalar(select(func.count()).select_from(similar)) or 0)
    if n_similar == 0:
        return 0, []
    candidate = pairs.c.product
    popular = dict(session.execute(select(candidate, func.count()).where(candidate.not_in(owned_products))
                                   .group_by(candidate)).all())
    co: dict[str, int] = {}
    also: dict[str, tuple[str, int]] = {}
    if owned_products:
        mine = pairs.alias("mine")
        joined = (select(candidate).select_from(pairs)
                  .join(mine, and_(mine.c.customer_id == pairs.c.customer_id, mine.c.product.in_(owned_products)))
                  .where(candidate.not_in(owned_products)))
        co = dict(session.execute(joined.with_only_columns(candidate, func.count(distinct(pairs.c.customer_id)))
                                  .group_by(candidate)).all())
        by_pair = session.execute(joined.with_only_columns(candidate, mine.c.product, func.count())
                                  .group_by(candidate, mine.c.product)).all()
        for product, other, count in sorted(by_pair, key=lambda row: (-row[2], row[1])):
            also.setdefault(product, (other, int(count)))
    found = []
    for text, bought in popular.items():
        product_id = _uuid(text)
        if product_id is None:
            continue
        pair = also.get(text)
        other = _uuid(pair[0]) if pair is not None else None
        found.append(rules.Counts(product_id=product_id, bought_by=int(bought), co_bought_by=int(co.get(text, 0)),
                                  also=(other, pair[1]) if other is not None and pair is not None else None))
    return n_similar, found


def items(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, rules.Item]:
    if not ids:
        return {}
    rows = session.execute(select(Product.id, Product.sku, Product.name, Product.active)
                           .where(Product.tenant_id == tenant, Product.id.in_(ids)))
    return {row.id: rules.Item(product_id=row.id, sku=row.sku, name=row.name, active=row.active) for row in rows}


def segment_customers(session: Session, tenant: str, segment: rules.Segment, *, after: uuid.UUID | None,
                      limit: int) -> list[uuid.UUID]:
    """A page of the segment's customers (all of them, buyers or not: each one's offers may have changed)."""
    query = select(CustomerReplica.customer_id).where(CustomerReplica.tenant_id == tenant, _in_segment(segment))
    if after is not None:
        query = query.where(CustomerReplica.customer_id > after)
    return list(session.scalars(query.order_by(CustomerReplica.customer_id).limit(limit)))


def touch(session: Session, tenant: str, segment: rules.Segment, now: datetime) -> None:
    session.add(SegmentTouch(tenant_id=tenant, customer_group=segment.customer_group, value_tier=segment.value_tier,
                             touched_at=now))


def touches(session: Session, limit: int) -> list[SegmentTouch]:
    return list(session.scalars(select(SegmentTouch).order_by(SegmentTouch.id).limit(limit)))


def forget_touches(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(delete(SegmentTouch).where(SegmentTouch.id.in_(ids)))


def publication(session: Session, tenant: str, customer_id: uuid.UUID) -> OfferPublication | None:
    return session.get(OfferPublication, (tenant, customer_id))


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (TypeError, ValueError):
        return None
