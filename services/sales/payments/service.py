"""Payment use cases: receive a payment and allocate it, list and read payments.

A payment takes the customer's credit lock (``credit.service.lock_customer``) and then the
rows of the customer's open invoices, so two payments at once cannot both settle what one
invoice owes. It publishes ``crm.sales.payment.received.v1``, and ``invoice.paid`` for each
invoice it settles. Nothing commits here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.credit import service as credit
from services.sales.customers import repository as customers
from services.sales.invoices import repository as invoices
from services.sales.invoices import service as invoice_service
from services.sales.invoices.tables import Invoice
from services.sales.payments import repository, rules
from services.sales.payments.schemas import PaymentCreate
from services.sales.payments.tables import Allocation, Payment
from shared.contract import EventType
from shared.db import utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.types import Money, check_money


@dataclass(frozen=True)
class Shown:
    payment: Payment
    allocations: list[Allocation]

    @property
    def unallocated(self) -> Decimal:
        return self.payment.amount - sum((a.amount for a in self.allocations), Decimal(0))


def receive_payment(session: Session, tenant: str, body: PaymentCreate, *, by: str | None,
                    wait_seconds: float) -> Shown:
    customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
    currency = body.amount.currency
    amount = check_money(body.amount.amount, currency, "amount.amount")
    if amount == 0:
        raise InvalidInput.on("amount.amount", "must be more than 0")
    credit.lock_customer(session, tenant, body.customer_id)
    open_now = invoices.open_invoices(session, tenant, body.customer_id, currency=currency, lock=True)
    owed = {invoice.id: balance for invoice, balance in open_now if balance > 0}
    if body.allocations is None:
        planned = rules.oldest_first(amount, [rules.OpenInvoice(i, b) for i, b in owed.items()])
    else:
        planned = [(a.invoice_id, check_money(a.amount, currency, f"allocations[{n}].amount"))
                   for n, a in enumerate(body.allocations)]
        rules.check_allocations(planned, owed)
    rules.check_excess(amount, sum((part for _, part in planned), Decimal(0)), body.keep_excess_as_credit)
    payment = Payment(id=new_id(), tenant_id=tenant, customer_id=body.customer_id, amount=amount, currency=currency,
                      received_on=body.received_on or utcnow().date(), reference=body.reference, created_by=by,
                      created_at=utcnow())
    session.add(payment)
    made = [Allocation(id=new_id(), tenant_id=tenant, payment_id=payment.id, invoice_id=invoice_id, amount=part)
            for invoice_id, part in planned]
    session.add_all(made)
    session.flush()
    by_id = {invoice.id: invoice for invoice, _ in open_now}
    for settled in invoice_service.shown_many(session, tenant, [by_id[i] for i, _ in planned]):
        invoice_service.settle(session, settled)
    shown = Shown(payment, made)
    _publish(session, contract.PAYMENT_RECEIVED, shown)
    return shown


def spend_credit(session: Session, tenant: str, invoice: Invoice) -> None:
    """A new invoice is paid from the customer's credit in its currency, oldest payment first; each payment
    that gave some tells its allocations again (``crm.sales.payment.applied.v1``). The caller holds the
    customer's credit lock, as issuing an invoice does, so no payment spends the same credit meanwhile."""
    owed = invoice_service.shown_many(session, tenant, [invoice])[0].open_amount
    credits = repository.credits_of(session, tenant, invoice.customer_id, invoice.currency) if owed > 0 else []
    spent = rules.spread(owed, [(payment.id, left) for payment, left in credits])
    if not spent:
        return
    session.add_all(Allocation(id=new_id(), tenant_id=tenant, payment_id=payment_id, invoice_id=invoice.id,
                               amount=part) for payment_id, part in spent)
    session.flush()
    invoice_service.settle(session, invoice_service.shown_many(session, tenant, [invoice])[0])
    by_id = {payment.id: payment for payment, _ in credits}
    allocations = repository.allocations_of(session, tenant, {payment_id for payment_id, _ in spent})
    for payment_id, _ in spent:
        _publish(session, contract.PAYMENT_APPLIED, Shown(by_id[payment_id], allocations[payment_id]))


def release_excess(session: Session, tenant: str, invoice: Invoice) -> None:
    """A credit note left the invoice's payments covering more than it now charges: the excess goes back to those
    payments, the newest first, as the customer's credit, which the next invoices in its currency spend (as they
    spend an over-payment); each payment that gave some back tells its allocations again
    (``crm.sales.payment.applied.v1``). What the customer paid and kept is the same before and after. The caller
    holds the customer's credit lock."""
    shown = invoice_service.shown_many(session, tenant, [invoice])[0]
    excess = min(-shown.balance, shown.paid)
    if excess <= 0:
        return
    touched: set[uuid.UUID] = set()
    for allocation in repository.allocations_to(session, tenant, invoice.id):
        if excess <= 0:
            break
        part = min(excess, allocation.amount)
        allocation.amount -= part
        excess -= part
        touched.add(allocation.payment_id)
        if allocation.amount == 0:
            session.delete(allocation)
    session.flush()
    allocations = repository.allocations_of(session, tenant, touched)
    for payment_id in sorted(touched):
        payment = repository.get_payment(session, tenant, payment_id)
        assert payment is not None
        _publish(session, contract.PAYMENT_APPLIED, Shown(payment, allocations[payment_id]))


def follow_customer(session: Session, tenant: str, payment: Payment, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the payment from ``previous``: told with its new customer's paid revenue
    (invoices follow before payments, so that is the revenue of every invoice the customer now has)."""
    _publish(session, contract.PAYMENT_MOVED, Shown(payment, repository.allocations_of(session, tenant,
                                                                                        {payment.id})[payment.id]))


def _publish(session: Session, event: EventType, shown: Shown) -> None:
    payment, currency = shown.payment, shown.payment.currency
    publish(session, event, contract.PaymentReceived(
        payment_id=payment.id, customer_id=payment.customer_id, amount=Money.of(payment.amount, currency),
        received_on=payment.received_on,
        allocations=[contract.AllocationReported(invoice_id=a.invoice_id, amount=Money.of(a.amount, currency))
                     for a in shown.allocations],
        unallocated=Money.of(shown.unallocated, currency),
        paid_revenue=invoice_service.paid_revenue(session, payment.tenant_id, payment.customer_id)),
        subject=str(payment.customer_id), tenant=payment.tenant_id)


def list_payments(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    rows = repository.list_payments(session, tenant, page, filters)
    allocations = repository.allocations_of(session, tenant, {p.id for p in rows})
    return [Shown(p, allocations[p.id]) for p in rows]


def get_payment(session: Session, tenant: str, payment_id: uuid.UUID) -> Shown:
    found = repository.get_payment(session, tenant, payment_id)
    if found is None:
        raise NotFound(f"No payment {payment_id}.")
    return Shown(found, repository.allocations_of(session, tenant, {found.id})[found.id])
