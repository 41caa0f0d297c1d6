"""Invoice use cases: issue an invoice for an order, list and read invoices, write one off.

Issuing takes the customer's credit lock (the order moves from uninvoiced orders to open
receivables: a credit check running beside it must see it in one place or the other, never
in neither), locks the order, draws the next number and publishes
``crm.sales.invoice.issued.v1``. Nothing commits here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.credit import service as credit
from services.sales.invoices import repository, rules
from services.sales.invoices.schemas import InvoiceCreate
from services.sales.invoices.tables import Invoice
from services.sales.loyalty import service as loyalty
from services.sales.offers import service as offers
from services.sales.orders import repository as orders
from services.sales.sales_policy import service as sales_policy
from services.sales.sales_policy.rules import INVOICEABLE
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.types import Money

NoCheck: Callable[[int], None] = lambda _: None  # noqa: E731


@dataclass(frozen=True)
class Shown:
    invoice: Invoice
    paid: Decimal
    credited: Decimal

    @property
    def balance(self) -> Decimal:
        return self.invoice.total - self.paid - self.credited - self.invoice.written_off

    @property
    def open_amount(self) -> Decimal:
        return rules.open_amount(self.balance)


def issue_invoice(session: Session, tenant: str, body: InvoiceCreate) -> Shown:
    # Locks in the order every use case takes them: the order's row, the customer's credit lock, invoices' rows.
    order = orders.get_order(session, tenant, body.order_id, lock=True)
    if order is None:
        raise InvalidInput.on("order_id", f"no order {body.order_id}")
    credit.lock_customer(session, tenant, order.customer_id)
    policy = sales_policy.policy(session, tenant)
    if order.status not in INVOICEABLE[policy.invoice_from]:
        raise Conflict(f"The order is {order.status}; the sales policy invoices orders from {policy.invoice_from} "
                       f"on (allowed: {', '.join(sorted(INVOICEABLE[policy.invoice_from]))}).")
    if repository.invoice_of_order(session, tenant, order.id) is not None:
        raise Conflict("The order is invoiced already.")
    returned = orders.returned_amount(session, tenant, order.id)
    now = utcnow()
    today = now.date()
    terms = body.payment_terms_days if body.payment_terms_days is not None else policy.payment_terms_days
    sequence = repository.next_number(session, tenant, "invoice", today.year)
    invoice = Invoice(id=new_id(), tenant_id=tenant, customer_id=order.customer_id, order_id=order.id,
                      number=rules.number("invoice", today.year, sequence), issued_on=today,
                      due_on=rules.due_on(today, terms), payment_terms_days=terms,
                      total=order.total - returned, currency=order.currency, status="open",
                      written_off=Decimal(0), write_off_reason=None, written_off_on=None, version=1, created_at=now,
                      updated_at=now)
    session.add(invoice)
    session.flush()
    shown = Shown(invoice, Decimal(0), Decimal(0))
    if invoice.total == 0:
        invoice.status = "paid"  # everything came back before it was invoiced
    changed(session, shown, contract.INVOICE_ISSUED)
    offers.basket_changed(session, tenant, order.customer_id)
    return shown


def list_invoices(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    rows = repository.list_invoices(session, tenant, page, filters, today=utcnow().date())
    return shown_many(session, tenant, rows)


def get_invoice(session: Session, tenant: str, invoice_id: uuid.UUID) -> Shown:
    found = repository.get_invoice(session, tenant, invoice_id)
    if found is None:
        raise NotFound(f"No invoice {invoice_id}.")
    return shown_many(session, tenant, [found])[0]


def write_off(session: Session, tenant: str, invoice_id: uuid.UUID, reason: str, *,
              check_version: Callable[[int], None] = NoCheck) -> Shown:
    """Write the open amount off as bad debt: the invoice is closed, its open amount zero."""
    found = repository.get_invoice(session, tenant, invoice_id)
    if found is None:
        raise NotFound(f"No invoice {invoice_id}.")
    # Read twice on purpose: the customer's credit lock comes before the invoice's row lock, as everywhere.
    credit.lock_customer(session, tenant, found.customer_id)
    invoice = repository.get_invoice(session, tenant, invoice_id, lock=True)
    assert invoice is not None
    check_version(invoice.version)
    shown = shown_many(session, tenant, [invoice])[0]
    rules.check_write_off(invoice.status, shown.balance)
    invoice.written_off = shown.balance
    invoice.write_off_reason = reason
    invoice.status = "written_off"
    invoice.version += 1
    invoice.updated_at = utcnow()
    invoice.written_off_on = invoice.updated_at.date()
    changed(session, shown, contract.INVOICE_WRITTEN_OFF, reason=reason)
    return shown


def shown_many(session: Session, tenant: str, rows: list[Invoice]) -> list[Shown]:
    ids = [i.id for i in rows]
    if not ids:
        return []
    paid, credited = repository.paid_and_credited(session, tenant, ids)
    return [Shown(i, Decimal(paid.get(i.id) or 0), Decimal(credited.get(i.id) or 0)) for i in rows]


def paid_revenue(session: Session, tenant: str, customer_id: uuid.UUID) -> list[Money]:
    """The customer's paid revenue per currency, as payment and credit-note events report it (``repository``)."""
    return [Money.of(amount, currency)
            for currency, amount in sorted(repository.paid_revenue(session, tenant, customer_id).items())]


def settle(session: Session, shown: Shown) -> None:
    """After a payment or credit note: paid when nothing is open (published once, when it becomes so)."""
    invoice = shown.invoice
    status = rules.status_after(invoice.status, shown.balance)
    invoice.version += 1
    invoice.updated_at = utcnow()
    if status != invoice.status:
        invoice.status = status
        changed(session, shown, contract.INVOICE_PAID)
        loyalty.earn_for_invoice(session, invoice)


def follow_customer(session: Session, tenant: str, invoice: Invoice, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the invoice from ``previous``: its dunning and the credit check follow
    the invoice's customer, so they now count it for the new one."""
    changed(session, shown_many(session, tenant, [invoice])[0], contract.INVOICE_MOVED)


def changed(session: Session, shown: Shown, event: Any, *, reason: str | None = None) -> None:
    invoice = shown.invoice
    c = invoice.currency
    publish(session, event, contract.InvoiceReported(
        invoice_id=invoice.id, customer_id=invoice.customer_id, order_id=invoice.order_id, number=invoice.number,
        issued_on=invoice.issued_on, due_on=invoice.due_on, total=Money.of(invoice.total, c),
        open_amount=Money.of(shown.open_amount, c), status=invoice.status, version=invoice.version, reason=reason,
        written_off=Money.of(invoice.written_off, c) if invoice.written_off else None),
        subject=str(invoice.customer_id), tenant=invoice.tenant_id)
