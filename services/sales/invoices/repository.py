"""Every query of invoices and of their numbering; an invoice's open amount, derived."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales.credit_notes.tables import CreditNote
from services.sales.invoices.tables import DocumentCounter, Invoice
from services.sales.payments.tables import Allocation
from shared.http import PageRequest

FILTERS = ("customer_id", "order_id")


def _allocated() -> ColumnElement[Decimal]:
    return (select(func.coalesce(func.sum(Allocation.amount), 0))
            .where(Allocation.tenant_id == Invoice.tenant_id, Allocation.invoice_id == Invoice.id)
            .scalar_subquery())


def _credited() -> ColumnElement[Decimal]:
    return (select(func.coalesce(func.sum(CreditNote.amount), 0))
            .where(CreditNote.tenant_id == Invoice.tenant_id, CreditNote.invoice_id == Invoice.id)
            .scalar_subquery())


def balance() -> ColumnElement[Decimal]:
    """Total less payments allocated, credit notes and the write-off. Negative: the invoice was credited after
    it was paid, and the difference is the customer's credit."""
    return Invoice.total - _allocated() - _credited() - Invoice.written_off


def get_invoice(session: Session, tenant: str, invoice_id: uuid.UUID, *, lock: bool = False) -> Invoice | None:
    query = select(Invoice).where(Invoice.tenant_id == tenant, Invoice.id == invoice_id)
    return session.scalar(query.with_for_update() if lock else query)


def invoice_of_order(session: Session, tenant: str, order_id: uuid.UUID) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.tenant_id == tenant, Invoice.order_id == order_id))


def invoice_ids_of_orders(session: Session, tenant: str, order_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Each invoiced order's invoice."""
    if not order_ids:
        return {}
    rows = session.execute(select(Invoice.order_id, Invoice.id).where(Invoice.tenant_id == tenant,
                                                                       Invoice.order_id.in_(order_ids)))
    return {row[0]: row[1] for row in rows}


def balances(session: Session, tenant: str, invoice_ids: set[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    if not invoice_ids:
        return {}
    rows = session.execute(select(Invoice.id, balance()).where(Invoice.tenant_id == tenant,
                                                                Invoice.id.in_(invoice_ids)))
    return {row[0]: Decimal(row[1]) for row in rows}


def paid_and_credited(session: Session, tenant: str, ids: list[uuid.UUID]
                      ) -> tuple[dict[uuid.UUID, Decimal], dict[uuid.UUID, Decimal]]:
    """Per invoice: the payments allocated to it, and its credit notes."""
    paid = {row[0]: Decimal(row[1]) for row in session.execute(
        select(Allocation.invoice_id, func.sum(Allocation.amount)).where(
            Allocation.tenant_id == tenant, Allocation.invoice_id.in_(ids)).group_by(Allocation.invoice_id))}
    credited = {row[0]: Decimal(row[1]) for row in session.execute(
        select(CreditNote.invoice_id, func.sum(CreditNote.amount)).where(
            CreditNote.tenant_id == tenant, CreditNote.invoice_id.in_(ids)).group_by(CreditNote.invoice_id))}
    return paid, credited


def open_invoices(session: Session, tenant: str, customer_id: uuid.UUID, *, currency: str | None = None,
                  lock: bool = False) -> list[tuple[Invoice, Decimal]]:
    """The customer's open invoices with what each still owes, oldest first (due date, issue date, number)."""
    query = (select(Invoice, balance()).where(Invoice.tenant_id == tenant, Invoice.customer_id == customer_id,
                                              Invoice.status == "open")
             .order_by(Invoice.due_on, Invoice.issued_on, Invoice.number))
    if currency is not None:
        query = query.where(Invoice.currency == currency)
    if lock:
        query = query.with_for_update(of=Invoice)
    return [(row[0], Decimal(row[1])) for row in session.execute(query)]


def receivables_by_currency(session: Session, tenant: str, customer_id: uuid.UUID) -> dict[str, Decimal]:
    """What the customer's open invoices still owe, summed per currency."""
    owed = balance()
    rows = session.execute(select(Invoice.currency, func.sum(owed)).where(
        Invoice.tenant_id == tenant, Invoice.customer_id == customer_id, Invoice.status == "open")
        .group_by(Invoice.currency))
    return {row[0]: Decimal(row[1]) for row in rows if row[1] is not None}


def paid_revenue(session: Session, tenant: str, customer_id: uuid.UUID) -> dict[str, Decimal]:
    """Per currency, what the customer paid and kept: per invoice the payments allocated to it, at most its total
    less its credit notes (a credit note on the unpaid part lowers what is owed, not what was paid); money not
    allocated to an invoice is the customer's credit, not revenue. The unified view's lifetime value is this."""
    paid = _allocated()
    left = Invoice.total - _credited()
    kept = case((paid < left, paid), else_=left)
    rows = session.execute(select(Invoice.currency, func.sum(case((kept > 0, kept), else_=0))).where(
        Invoice.tenant_id == tenant, Invoice.customer_id == customer_id).group_by(Invoice.currency))
    return {row[0]: Decimal(row[1]) for row in rows if row[1] is not None and Decimal(row[1]) != 0}


def list_invoices(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any], *,
                  today: date) -> list[Invoice]:
    """``status`` as shown: overdue is open past due on ``today``, open is open and not yet due."""
    query = select(Invoice).where(Invoice.tenant_id == tenant)
    status = filters.get("status")
    if status == "overdue":
        query = query.where(Invoice.status == "open", Invoice.due_on < today)
    elif status == "open":
        query = query.where(Invoice.status == "open", Invoice.due_on >= today)
    elif status is not None:
        query = query.where(Invoice.status == status)
    for name in FILTERS:
        if filters.get(name) is not None:
            query = query.where(getattr(Invoice, name) == filters[name])
    if page.after is not None:
        query = query.where(Invoice.id > page.after)
    return list(session.scalars(query.order_by(Invoice.id).limit(page.limit + 1)))


def next_number(session: Session, tenant: str, series: str, year: int) -> int:
    """The next number of the series and year, its counter row locked until the transaction ends (so numbers
    are drawn one transaction after the other, and a rolled-back one is drawn again)."""
    query = select(DocumentCounter).where(DocumentCounter.tenant_id == tenant, DocumentCounter.series == series,
                                          DocumentCounter.year == year).with_for_update()
    counter = session.scalar(query)
    if counter is None:
        try:
            # The year's first document: a concurrent first one may insert the row too; then lock theirs.
            with session.begin_nested():
                session.add(DocumentCounter(tenant_id=tenant, series=series, year=year, last=0))
        except IntegrityError:
            pass
        counter = session.scalar(query)
        assert counter is not None
    counter.last += 1
    session.flush()
    return counter.last
