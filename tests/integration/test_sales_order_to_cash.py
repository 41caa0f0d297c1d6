"""Orders, the credit check, invoices, payments and credit notes on both database backends, through the use
cases called directly on a migrated database (each call in its own transaction, as a request's unit of work).

On PostgreSQL, confirmations of one customer's orders and invoices of one tenant run side by
side from many threads: the credit lock lets no two confirmations slip under the limit together,
and the counter row gives every invoice its own number without a gap.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.sales.contract import VIEW_UPDATED
from services.sales.credit_notes import service as credit_notes
from services.sales.credit_notes.schemas import CreditNoteCreate
from services.sales.customers.consumers import VIEW_REPLICA
from services.sales.exchange_rates import service as exchange_rates
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from services.sales.invoices import service as invoices
from services.sales.invoices.schemas import InvoiceCreate
from services.sales.opportunities.schemas import LineIn
from services.sales.orders import service as orders
from services.sales.orders.schemas import OrderCreate, ReturnIn
from services.sales.orders.tables import Order
from services.sales.payments import service as payments
from services.sales.payments.schemas import PaymentCreate
from services.sales.price_books import service as price_books
from services.sales.price_books.schemas import PriceBookCreate
from services.sales.products import service as products
from services.sales.products.schemas import ProductCreate
from services.sales.sales_policy import service as sales_policy
from services.sales.sales_policy.schemas import SalesPolicyIn
from shared.consumer import Delivery, apply_all
from shared.db import OutboxRecord, unit_of_work
from shared.envelope import CloudEvent
from shared.errors import Conflict, InvalidInput
from shared.types import Money

pytestmark = pytest.mark.integration

TENANT = "cash"
T = TypeVar("T")


@pytest.fixture()
def sessions(sales_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    return sales_sessions


def _in(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with unit_of_work(sessions) as session:
        return work(session)


def _customer(sessions: sessionmaker[Session], limit: str | None, currency: str = "EUR") -> uuid.UUID:
    """A customer as the view replica's consumer applies its view, with a credit limit (or none)."""
    customer = uuid.uuid4()
    profile: dict[str, Any] = {"display_name": "Buyer", "kind": "organization",
                               "credit_limit": {"amount": limit, "currency": currency} if limit else None}
    data = {"customer_id": str(customer), "version": 1, "profile": profile, "kpis": {}, "source_sequences": {}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=VIEW_UPDATED.name, subject=str(customer),
                       time=datetime.now(timezone.utc), data=data, tenant=TENANT, sequence=1)
    with sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic="crm.customer_view.v1", key=str(customer), event=event)],
                  VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)
    return customer


def _catalogue(sessions: sessionmaker[Session], price: str = "100.00", currency: str = "EUR") -> uuid.UUID:
    def work(session: Session) -> uuid.UUID:
        product = products.create_product(session, TENANT, ProductCreate(sku=f"SKU-{uuid.uuid4().hex[:8]}", name="Chair"))
        price_books.create_book(session, TENANT, PriceBookCreate(
            name="List", currency=currency, valid_from=date(2020, 1, 1),
            entries=[{"product_id": product.id, "unit_price": {"amount": price, "currency": currency}}]))
        return product.id
    return _in(sessions, work)


def _place(sessions: sessionmaker[Session], customer: uuid.UUID, product: uuid.UUID, quantity: str,
           currency: str = "EUR") -> uuid.UUID:
    body = OrderCreate(customer_id=customer, currency=currency, lines=[LineIn(product_id=product, quantity=quantity)])
    return _in(sessions, lambda s: orders.place_order(s, TENANT, body, wait_seconds=0, by="clerk",
                                                      may_approve=False).order.id)


def _status(sessions: sessionmaker[Session], order_id: uuid.UUID) -> str:
    with sessions() as session:
        return orders.get_order(session, TENANT, order_id).order.status


def _events(sessions: sessionmaker[Session], event_type: str) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxRecord).where(
            OutboxRecord.type == event_type)) or 0


def test_an_order_over_the_limit_is_held_until_approved_and_splits_add_up(sessions: sessionmaker[Session]) -> None:
    product = _catalogue(sessions)
    customer = _customer(sessions, "1000.00")
    first = _place(sessions, customer, product, "6")  # 600
    confirmed = _in(sessions, lambda s: orders.confirm(s, TENANT, first, by="clerk"))
    assert confirmed.order.status == "confirmed"
    assert confirmed.order.credit["exposure"] == {"amount": "600.00", "currency": "EUR"}
    # The same order again, split in two: the second half goes over (600 + 300 + 300 > 1000).
    halves = [_place(sessions, customer, product, "3") for _ in range(2)]
    assert _in(sessions, lambda s: orders.confirm(s, TENANT, halves[0], by="clerk")).order.status == "confirmed"
    held = _in(sessions, lambda s: orders.confirm(s, TENANT, halves[1], by="clerk"))
    assert held.order.status == "on_hold"
    assert (held.order.credit["uninvoiced_orders"]["amount"], held.order.credit["headroom"]["amount"]) == (
        "900.00", "-200.00")
    assert held.order.credit["within_limit"] is False
    # Held: it cannot ship; approval confirms it and publishes confirmed (there is no approved event).
    with pytest.raises(Conflict, match="Allowed: approve, cancel"):
        _in(sessions, lambda s: orders.ship(s, TENANT, halves[1], by="clerk"))
    approved = _in(sessions, lambda s: orders.approve(s, TENANT, halves[1], by="manager"))
    assert (approved.order.status, approved.order.approved_by) == ("confirmed", "manager")
    assert _events(sessions, "crm.sales.order.held.v1") == 1
    assert _events(sessions, "crm.sales.order.confirmed.v1") == 3
    with sessions() as session:
        moves = [(c.from_status, c.to_status) for c in orders.history(session, TENANT, halves[1],
                                                                       orders_page())]
    assert moves == [(None, "placed"), ("placed", "on_hold"), ("on_hold", "confirmed")]
    # No limit of its own and no tenant default: not checked; a tenant default of 0 holds everything.
    free = _customer(sessions, None)
    assert _in(sessions, lambda s: orders.confirm(s, TENANT, _place(sessions, free, product, "50"),
                                                  by="c")).order.status == "confirmed"
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", default_credit_limit="0"), check_version=lambda _: None))
    assert _in(sessions, lambda s: orders.confirm(s, TENANT, _place(sessions, free, product, "1"),
                                                  by="c")).order.status == "on_hold"


def orders_page() -> Any:
    from shared.http import PageRequest
    return PageRequest(limit=50, after=None)


def test_exposure_is_in_the_tenant_currency_at_todays_rate_and_a_missing_rate_writes_nothing(
        sessions: sessionmaker[Session]) -> None:
    usd = _catalogue(sessions, "100.00", "USD")
    customer = _customer(sessions, "1000.00", "EUR")
    before = _events(sessions, "crm.sales.order.placed.v1")
    with pytest.raises(InvalidInput) as refused:
        _place(sessions, customer, usd, "1", currency="USD")
    assert refused.value.errors is not None and refused.value.errors[0]["field"] == "currency"
    assert _events(sessions, "crm.sales.order.placed.v1") == before
    _in(sessions, lambda s: exchange_rates.create_rate(s, TENANT, ExchangeRateCreate(
        base="EUR", quote="USD", rate="1.25", valid_from=date(2020, 1, 1))))
    order = _place(sessions, customer, usd, "12", currency="USD")  # 1200 USD = 960 EUR at the inverse of 1.25
    shown = _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="clerk"))
    assert shown.order.status == "confirmed"
    assert shown.order.credit["this_order"] == {"amount": "960.00", "currency": "EUR"}


def test_order_to_cash_invoices_payments_returns_and_credit_notes(sessions: sessionmaker[Session]) -> None:
    product = _catalogue(sessions, "100.00")
    customer, other = _customer(sessions, "5000.00"), _customer(sessions, None)
    order = _place(sessions, customer, product, "10")
    _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="c"))
    # The default policy invoices shipped orders.
    with pytest.raises(Conflict, match="from shipped"):
        _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order)))
    _in(sessions, lambda s: orders.ship(s, TENANT, order, by="c"))
    invoice = _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order,
                                                                                        payment_terms_days=14)))
    year = date.today().year
    assert (invoice.invoice.number, invoice.invoice.total, invoice.open_amount) == (
        f"INV-{year}-000001", Decimal("1000.00"), Decimal("1000.00"))
    assert (invoice.invoice.due_on - invoice.invoice.issued_on).days == 14
    invoice_id = invoice.invoice.id
    # Bad input, nothing written: more than shipped, another customer's invoice, an over-payment not asked for.
    with pytest.raises(InvalidInput) as too_many:
        _in(sessions, lambda s: orders.take_return(s, TENANT, order, ReturnIn(lines=[{"line": 0, "quantity": "11"}]),
                                                   by="c"))
    assert too_many.value.errors[0]["field"] == "lines[0].quantity"
    with pytest.raises(InvalidInput) as theirs:
        _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
            customer_id=other, amount={"amount": "10.00", "currency": "EUR"},
            allocations=[{"invoice_id": invoice_id, "amount": "10.00"}]), by="c", wait_seconds=0))
    assert theirs.value.errors[0]["field"] == "allocations[0].invoice_id"
    with pytest.raises(InvalidInput) as over:
        _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
            customer_id=customer, amount={"amount": "1500.00", "currency": "EUR"}), by="c", wait_seconds=0))
    assert over.value.errors[0]["field"] == "amount"
    assert _events(sessions, "crm.sales.payment.received.v1") == 0
    # Two partial payments: the invoice is paid once, by the second.
    pay = lambda amount: _in(sessions, lambda s: payments.receive_payment(  # noqa: E731
        s, TENANT, PaymentCreate(customer_id=customer, amount={"amount": amount, "currency": "EUR"}),
        by="c", wait_seconds=0))
    assert pay("600.00").allocations[0].amount == Decimal("600.00")
    with sessions() as session:
        assert invoices.get_invoice(session, TENANT, invoice_id).open_amount == Decimal("400.00")
    second = pay("400.00").payment.id
    with sessions() as session:
        paid = invoices.get_invoice(session, TENANT, invoice_id)
    assert (paid.invoice.status, paid.open_amount) == ("paid", Decimal(0))
    assert _events(sessions, "crm.sales.invoice.paid.v1") == 1
    # Three of ten come back; their credit note leaves 300 as the customer's credit on a paid invoice: the newest
    # payment gives it back (400 -> 100 on the invoice), the customer kept 700, and the next invoice spends it.
    _, returned = _in(sessions, lambda s: orders.take_return(s, TENANT, order, ReturnIn(
        lines=[{"line": 0, "quantity": "3"}], reason="damaged"), by="c"))
    assert returned.amount == Decimal("300.00")
    note = _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
        return_id=returned.id, reason="damaged chairs"), by="c"))
    assert (note.number, note.amount, note.kind) == (f"CN-{year}-000001", Decimal("300.00"), "return")
    with sessions() as session:
        released = payments.get_payment(session, TENANT, second)
        credited = invoices.get_invoice(session, TENANT, invoice_id)
        assert invoices.paid_revenue(session, TENANT, customer) == [Money.of(Decimal("700.00"), "EUR")]
    assert ([a.amount for a in released.allocations], released.unallocated) == ([Decimal("100.00")], Decimal("300.00"))
    assert (credited.invoice.status, credited.open_amount) == ("paid", Decimal(0))
    assert _events(sessions, "crm.sales.payment.applied.v1") == 1
    more = _place(sessions, customer, product, "2")
    for step in (orders.confirm, orders.ship):
        _in(sessions, lambda s, step=step: step(s, TENANT, more, by="c"))
    spent = _invoice_spending_credit(sessions, more)
    assert (spent.invoice.status, spent.open_amount) == ("paid", Decimal(0))
    with sessions() as session:
        assert payments.get_payment(session, TENANT, second).unallocated == Decimal("100.00")
    with pytest.raises(Conflict):
        _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
            return_id=returned.id, reason="again"), by="c"))
    # The rest comes back: the order is returned.
    whole, _ = _in(sessions, lambda s: orders.take_return(s, TENANT, order, ReturnIn(
        lines=[{"line": 0, "quantity": "7"}]), by="c"))
    assert whole.order.status == "returned"


def test_payments_go_oldest_first_and_a_write_off_closes_an_invoice(sessions: sessionmaker[Session]) -> None:
    product = _catalogue(sessions, "10.00")
    customer = _customer(sessions, None)
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    issued = []
    for quantity in ("1", "2", "3"):
        order = _place(sessions, customer, product, quantity)
        _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="c"))
        issued.append(_in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(
            order_id=order))).invoice.id)
    payment = _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=customer, amount={"amount": "75.00", "currency": "EUR"}, keep_excess_as_credit=True),
        by="c", wait_seconds=0))
    # 10 + 20 + 30 owed: all settled, 15 kept as credit.
    assert [(a.invoice_id, a.amount) for a in payment.allocations] == [
        (issued[0], Decimal("10.00")), (issued[1], Decimal("20.00")), (issued[2], Decimal("30.00"))]
    assert payment.unallocated == Decimal("15.00")
    order = _place(sessions, customer, product, "4")
    _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="c"))
    bad = _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order))).invoice.id
    off = _in(sessions, lambda s: invoices.write_off(s, TENANT, bad, "insolvent"))
    assert (off.invoice.status, off.invoice.written_off, off.open_amount) == ("written_off", Decimal("40.00"),
                                                                               Decimal(0))
    with pytest.raises(Conflict):
        _in(sessions, lambda s: invoices.write_off(s, TENANT, bad, "again"))


def _invoice_spending_credit(sessions: sessionmaker[Session], order: uuid.UUID) -> invoices.Shown:
    """What ``POST /v1/invoices`` does in its one transaction: issue the invoice, then spend the customer's credit."""
    def work(session: Session) -> invoices.Shown:
        issued = invoices.issue_invoice(session, TENANT, InvoiceCreate(order_id=order))
        payments.spend_credit(session, TENANT, issued.invoice)
        return invoices.shown_many(session, TENANT, [issued.invoice])[0]
    return _in(sessions, work)


def test_credit_kept_from_an_over_payment_pays_the_next_invoices_oldest_payment_first(
        sessions: sessionmaker[Session]) -> None:
    product = _catalogue(sessions, "10.00")
    customer = _customer(sessions, None)
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    kept = [_in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=customer, amount={"amount": amount, "currency": "EUR"}, keep_excess_as_credit=True),
        by="c", wait_seconds=0)).payment.id for amount in ("8.00", "12.00")]
    # A credit in another currency pays nothing here.
    _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=customer, amount={"amount": "500.00", "currency": "USD"}, keep_excess_as_credit=True),
        by="c", wait_seconds=0))
    shown = []
    for quantity in ("1", "2", "3"):
        order = _place(sessions, customer, product, quantity)
        _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="c"))
        shown.append(_invoice_spending_credit(sessions, order))
    # 20 of credit: the 10 invoice is paid from the older payment (8) and 2 of the newer; the 20 invoice gets
    # the newer's last 10; the 30 invoice finds nothing left.
    assert [(s.invoice.status, s.open_amount) for s in shown] == [
        ("paid", Decimal("0.00")), ("open", Decimal("10.00")), ("open", Decimal("30.00"))]
    with sessions() as session:
        spent = {p: [(a.invoice_id, a.amount) for a in payments.get_payment(session, TENANT, p).allocations]
                 for p in kept}
        applied = [r.data for r in session.scalars(select(OutboxRecord).where(
            OutboxRecord.type == "crm.sales.payment.applied.v1").order_by(OutboxRecord.sequence))]
    assert spent == {kept[0]: [(shown[0].invoice.id, Decimal("8.00"))],
                     kept[1]: [(shown[0].invoice.id, Decimal("2.00")), (shown[1].invoice.id, Decimal("10.00"))]}
    assert [(a["payment_id"], a["unallocated"]["amount"], len(a["allocations"])) for a in applied] == [
        (str(kept[0]), "0.00", 1), (str(kept[1]), "10.00", 1), (str(kept[1]), "0.00", 2)]
    assert applied[-1]["paid_revenue"] == [{"amount": "20.00", "currency": "EUR"}]
    assert _events(sessions, "crm.sales.invoice.paid.v1") == 1


def _side_by_side(work: Callable[[int], None], count: int) -> list[BaseException]:
    failures: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
        except BaseException as problem:  # noqa: BLE001 - reported by the test
            failures.append(problem)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_concurrent_confirmations_cannot_both_slip_under_the_limit(
        sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> None:
    if "postgresql" not in request.node.callspec.id:
        pytest.skip("SQLite serves one process whose writers take its one lock; the race is PostgreSQL's")
    product = _catalogue(sessions)
    customer = _customer(sessions, "1000.00")
    placed = [_place(sessions, customer, product, "4") for _ in range(6)]  # 400 each: two fit, not three
    failures = _side_by_side(lambda n: _in(sessions, lambda s: orders.confirm(s, TENANT, placed[n], by="c")), 6)
    assert failures == []
    with sessions() as session:
        statuses = sorted(session.scalars(select(Order.status).where(Order.id.in_(placed))))
    assert statuses == ["confirmed"] * 2 + ["on_hold"] * 4


def test_invoices_issued_side_by_side_are_numbered_without_gaps(
        sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> None:
    if "postgresql" not in request.node.callspec.id:
        pytest.skip("the counter row's lock is PostgreSQL's; SQLite runs one writer at a time")
    product = _catalogue(sessions)
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    placed = []
    for _ in range(8):
        customer = _customer(sessions, None)
        order = _place(sessions, customer, product, "1")
        _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="c"))
        placed.append(order)
    failures = _side_by_side(lambda n: _in(sessions, lambda s: invoices.issue_invoice(
        s, TENANT, InvoiceCreate(order_id=placed[n]))), 8)
    assert failures == []
    from services.sales.invoices.tables import Invoice
    with sessions() as session:
        numbers = sorted(session.scalars(select(Invoice.number).where(Invoice.tenant_id == TENANT)))
    year = date.today().year
    assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, 9)]
