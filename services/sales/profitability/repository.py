"""The queries of profitability: a period's invoiced, returned and corrected amounts, summed in SQL per
product, currency, day and the dimensions asked for (category is the product's: ``service`` maps it).

Order and return lines are JSON arrays; they are opened in SQL, as rows, by each database's
own function (``json_each`` on SQLite, ``jsonb_array_elements`` on PostgreSQL: ``line_items``),
so only the sums leave the database. SQLite sums decimals as floats; sums are read back at the
stored four-decimal scale, as receivables does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Numeric, Select, String, and_, cast, func, literal_column, select, true
from sqlalchemy.orm import Session

from services.sales.credit_notes.tables import CreditNote
from services.sales.customers.tables import CustomerReplica
from services.sales.invoices.tables import Invoice
from services.sales.opportunities.tables import Opportunity
from services.sales.orders.tables import Order, OrderReturn
from services.sales.products.tables import Product, ProductCost
from services.sales.profitability import rules
from services.sales.profitability import tables as _indexes  # noqa: F401 - the indexes these queries read by

_SCALE = Decimal("0.0001")
_AMOUNT = Numeric(20, 4)


@dataclass(frozen=True)
class LineItems:
    """The elements of a JSON array column as rows, and how to read a field of one (as text)."""

    rows: FromClause
    text: Callable[[str], ColumnElement[str]]

    def number(self, name: str) -> ColumnElement[Decimal]:
        return cast(self.text(name), _AMOUNT)


def line_items(session: Session, column: Any) -> LineItems:
    """The lines of ``column`` (a JSON array of objects), to join ``ON true`` after the table holding it."""
    # Field names are written into the SQL, not bound: a field read in the select list and in GROUP BY is then
    # the same expression to PostgreSQL (two bound parameters would be two expressions). They are ours, never input.
    if session.get_bind().dialect.name == "postgresql":
        pg = func.jsonb_array_elements(column).table_valued("value")
        return LineItems(pg, lambda name: pg.c.value.op("->>", return_type=String)(literal_column(f"'{name}'")))
    lite = func.json_each(column).table_valued("value")
    return LineItems(lite, lambda name: func.json_extract(lite.c.value, literal_column(f"'$.{name}'"), type_=String))


def _view_field(name: str) -> ColumnElement[str]:
    return CustomerReplica.view["profile"][name].as_string()


def _with_dimensions(query: Select[Any], group_by: tuple[rules.Dimension, ...],
                     customer_id: Any) -> tuple[Select[Any], list[ColumnElement[Any]]]:
    """The query joined to what the dimensions need (the order is joined already), and their columns."""
    columns: list[ColumnElement[Any]] = []
    if any(name in group_by for name in ("customer_group", "value_tier", "region")):
        query = query.outerjoin(CustomerReplica, and_(CustomerReplica.tenant_id == Order.tenant_id,
                                                      CustomerReplica.customer_id == customer_id))
    if "owner" in group_by:
        query = query.outerjoin(Opportunity, and_(Opportunity.tenant_id == Order.tenant_id,
                                                  Opportunity.id == Order.opportunity_id))
    for name in group_by:
        if name in ("customer_group", "value_tier", "region"):
            columns.append(_view_field(name).label(name))
        elif name == "channel":
            columns.append(Order.channel.label(name))
        elif name == "owner":
            columns.append(Opportunity.owner.label(name))
    return query, columns


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(_SCALE)


def _product(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _key(row: Any, group_by: tuple[rules.Dimension, ...]) -> dict[str, str | None]:
    mapping = row._mapping
    return {name: (str(mapping[name]) if mapping[name] is not None else None)
            for name in group_by if name != "category"}


def sold(session: Session, tenant: str, start: date, end: date,
         group_by: tuple[rules.Dimension, ...]) -> list[rules.Sold]:
    """The lines of orders invoiced in the period, per product, invoice currency and day."""
    lines = line_items(session, Order.lines)
    quantity = lines.number("quantity")
    query = (select(Invoice.currency.label("currency"), Invoice.issued_on.label("day"),
                    lines.text("product_id").label("product"))
             .select_from(Invoice)
             .join(Order, and_(Order.tenant_id == Invoice.tenant_id, Order.id == Invoice.order_id))
             .join(lines.rows, true()))
    query, dimensions = _with_dimensions(query, group_by, Order.customer_id)
    # An order's loyalty discount came off its total: each line carries its share of it, by line total.
    loyalty = func.coalesce(Order.loyalty_discount, 0)
    before_discount = func.nullif(Order.total + loyalty, 0)
    summed = (query.add_columns(*dimensions, func.sum(quantity).label("quantity"),
                                func.sum(quantity * lines.number("unit_price")).label("gross"),
                                func.sum(lines.number("line_total")).label("net"),
                                func.coalesce(func.sum(lines.number("line_total") * loyalty / before_discount), 0)
                                .label("loyalty"))
              .where(Invoice.tenant_id == tenant, Invoice.issued_on >= start, Invoice.issued_on <= end)
              .group_by(Invoice.currency, Invoice.issued_on, lines.text("product_id"), *dimensions))
    return [rules.Sold(key=_key(row, group_by), currency=row.currency, day=row.day, product_id=_product(row.product),
                       quantity=_decimal(row.quantity), gross=_decimal(row.gross), net=_decimal(row.net),
                       loyalty=_decimal(row.loyalty))
            for row in session.execute(summed)]


def returned(session: Session, tenant: str, start: date, end: date,
             group_by: tuple[rules.Dimension, ...]) -> list[rules.Returned]:
    """Returned lines that count in the period: credited by a return credit note issued in it, or left out of
    an invoice issued in it (they came back before it)."""
    found: list[rules.Returned] = []
    credited = (CreditNote.currency, CreditNote.issued_on,
                lambda q: q.join(CreditNote, and_(CreditNote.tenant_id == OrderReturn.tenant_id,
                                                  CreditNote.return_id == OrderReturn.id, CreditNote.kind == "return"))
                .where(CreditNote.issued_on >= start, CreditNote.issued_on <= end))
    left_out = (OrderReturn.currency, Invoice.issued_on,
                lambda q: q.join(Invoice, and_(Invoice.tenant_id == OrderReturn.tenant_id,
                                               Invoice.order_id == OrderReturn.order_id,
                                               OrderReturn.created_at <= Invoice.created_at))
                .where(Invoice.issued_on >= start, Invoice.issued_on <= end))
    for currency, day, counted in (credited, left_out):
        lines = line_items(session, OrderReturn.lines)
        query = (select(currency.label("currency"), day.label("day"), lines.text("product_id").label("product"))
                 .select_from(OrderReturn)
                 .join(Order, and_(Order.tenant_id == OrderReturn.tenant_id, Order.id == OrderReturn.order_id))
                 .join(lines.rows, true()))
        query = counted(query)
        query, dimensions = _with_dimensions(query, group_by, Order.customer_id)
        summed = (query.add_columns(*dimensions, func.sum(lines.number("quantity")).label("quantity"),
                                    func.sum(lines.number("amount")).label("amount"))
                  .where(OrderReturn.tenant_id == tenant)
                  .group_by(currency, day, lines.text("product_id"), *dimensions))
        found += [rules.Returned(key=_key(row, group_by), currency=row.currency, day=row.day,
                                 product_id=_product(row.product), quantity=_decimal(row.quantity),
                                 amount=_decimal(row.amount))
                  for row in session.execute(summed)]
    return found


def corrected(session: Session, tenant: str, start: date, end: date,
              group_by: tuple[rules.Dimension, ...]) -> list[rules.Corrected]:
    """Correction credit notes issued in the period, per currency and day."""
    query = (select(CreditNote.currency.label("currency"), CreditNote.issued_on.label("day"))
             .select_from(CreditNote)
             .join(Invoice, and_(Invoice.tenant_id == CreditNote.tenant_id, Invoice.id == CreditNote.invoice_id))
             .join(Order, and_(Order.tenant_id == Invoice.tenant_id, Order.id == Invoice.order_id)))
    query, dimensions = _with_dimensions(query, group_by, Order.customer_id)
    summed = (query.add_columns(*dimensions, func.sum(CreditNote.amount).label("amount"))
              .where(CreditNote.tenant_id == tenant, CreditNote.kind == "correction", CreditNote.issued_on >= start,
                     CreditNote.issued_on <= end)
              .group_by(CreditNote.currency, CreditNote.issued_on, *dimensions))
    return [rules.Corrected(key=_key(row, group_by), currency=row.currency, day=row.day, amount=_decimal(row.amount))
            for row in session.execute(summed)]


def costings(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, rules.Costing]:
    if not ids:
        return {}
    history: dict[uuid.UUID, list[tuple[date, Decimal | None, str | None]]] = {}
    for row in session.execute(select(ProductCost.product_id, ProductCost.valid_from, ProductCost.cost_amount,
                                      ProductCost.cost_currency)
                               .where(ProductCost.tenant_id == tenant, ProductCost.product_id.in_(ids))
                               .order_by(ProductCost.product_id, ProductCost.valid_from)):
        history.setdefault(row.product_id, []).append((row.valid_from, row.cost_amount, row.cost_currency))
    rows = session.execute(select(Product.id, Product.sku, Product.category, Product.cost_amount,
                                  Product.cost_currency).where(Product.tenant_id == tenant, Product.id.in_(ids)))
    return {row.id: rules.Costing(sku=row.sku, category=row.category, cost=row.cost_amount,
                                  cost_currency=row.cost_currency, history=tuple(history.get(row.id, ())))
            for row in rows}
