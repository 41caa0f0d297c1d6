"""Receivables ageing on both database backends, through the use cases called directly on a migrated database:
buckets on fixed dates (due exactly 30, 60 and 91 days before the as-of day), an invoice issued after the as-of
day left out, a payment received, a credit note issued and a write-off made after it not counted, per customer,
deal owner and customer region, per currency and converted at the as-of day's rate."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.sales.contract import VIEW_UPDATED
from services.sales.credit_notes import service as credit_notes
from services.sales.credit_notes.schemas import CreditNoteCreate
from services.sales.customers.consumers import VIEW_REPLICA
from services.sales.exchange_rates import service as exchange_rates
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from services.sales.invoices import service as invoices
from services.sales.invoices.schemas import InvoiceCreate
from services.sales.invoices.tables import Invoice
from services.sales.opportunities import service as opportunities
from services.sales.opportunities.schemas import LineIn, OpportunityCreate
from services.sales.orders import service as orders
from services.sales.orders.schemas import OrderCreate
from services.sales.payments import service as payments
from services.sales.payments.schemas import PaymentCreate
from services.sales.price_books import service as price_books
from services.sales.price_books.schemas import PriceBookCreate
from services.sales.products import service as products
from services.sales.products.schemas import ProductCreate
from services.sales.receivables import rules, service
from services.sales.sales_policy import service as sales_policy
from services.sales.sales_policy.schemas import SalesPolicyIn
from shared.consumer import Delivery, apply_all
from shared.db import unit_of_work, utcnow
from shared.envelope import CloudEvent

pytestmark = pytest.mark.integration

TENANT = "ageing"
AS_OF = date(2026, 3, 31)
T = TypeVar("T")


def _in(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with unit_of_work(sessions) as session:
        return work(session)


def _customer(sessions: sessionmaker[Session], region: str) -> uuid.UUID:
    customer = uuid.uuid4()
    data = {"customer_id": str(customer), "version": 1, "kpis": {}, "source_sequences": {},
            "profile": {"display_name": f"Buyer in {region}", "kind": "organization", "region": region}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=VIEW_UPDATED.name, subject=str(customer),
                       time=datetime.now(timezone.utc), data=data, tenant=TENANT, sequence=1)
    with sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic="crm.customer_view.v1", key=str(customer), event=event)],
                  VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)
    return customer


def _product(sessions: sessionmaker[Session], currency: str) -> uuid.UUID:
    def work(session: Session) -> uuid.UUID:
        product = products.create_product(session, TENANT, ProductCreate(sku=f"SKU-{uuid.uuid4().hex[:8]}", name="Desk"))
        price_books.create_book(session, TENANT, PriceBookCreate(
            name=f"List {currency}", currency=currency, valid_from=date(2020, 1, 1),
            entries=[{"product_id": product.id, "unit_price": {"amount": "1.00", "currency": currency}}]))
        return product.id
    return _in(sessions, work)


def _invoice(sessions: sessionmaker[Session], customer: uuid.UUID, product: uuid.UUID, amount: int, currency: str,
             *, issued_on: date, due_on: date, owner: str | None = None) -> uuid.UUID:
    """An invoice of ``amount`` (units at 1.00) from a won deal of ``owner`` or, without one, a direct order; its
    dates moved to the fixed days the test is about (the use case issues today)."""
    line = LineIn(product_id=product, quantity=str(amount))
    if owner is not None:
        deal = _in(sessions, lambda s: opportunities.create_opportunity(s, TENANT, OpportunityCreate(
            customer_id=customer, name="Desks", currency=currency, lines=[line], stage="closed_won",
            close_reason="price", owner=owner), wait_seconds=0).opportunity.id)
        body = OrderCreate(customer_id=customer, opportunity_id=deal)
    else:
        body = OrderCreate(customer_id=customer, currency=currency, lines=[line])
    order = _in(sessions, lambda s: orders.place_order(s, TENANT, body, wait_seconds=0, by="c", may_approve=False))
    _in(sessions, lambda s: orders.confirm(s, TENANT, order.order.id, by="c"))
    issued = _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order.order.id)))
    with sessions.begin() as session:
        session.execute(update(Invoice).where(Invoice.id == issued.invoice.id).values(issued_on=issued_on,
                                                                                      due_on=due_on))
    return issued.invoice.id


def _pay(sessions: sessionmaker[Session], customer: uuid.UUID, invoice: uuid.UUID, amount: str, currency: str,
         received_on: date) -> None:
    _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=customer, amount={"amount": amount, "currency": currency}, received_on=received_on,
        allocations=[{"invoice_id": invoice, "amount": amount}]), by="c", wait_seconds=0))


def _money(found: rules.Group, currency: str) -> dict[str, Decimal]:
    return {bucket: amount for bucket, amount in found.by_currency[currency].amounts.items() if amount}


def _ageing(sessions: sessionmaker[Session], group_by: rules.GroupBy, as_of: date = AS_OF) -> dict[str | None, Any]:
    with sessions() as session:
        report = service.receivables(session, TENANT, as_of=as_of, group_by=group_by)
    return {g.group: g for g in report.groups} | {"(totals)": report.totals}


def test_ageing_as_of_a_day_counts_what_was_owed_then_per_customer_owner_and_region(
        sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    _in(sessions, lambda s: exchange_rates.create_rate(s, TENANT, ExchangeRateCreate(
        base="EUR", quote="USD", rate="1.25", valid_from=date(2020, 1, 1))))
    north, south = _customer(sessions, "north"), _customer(sessions, "south")
    eur, usd = _product(sessions, "EUR"), _product(sessions, "USD")

    # Due 60 days before the as-of day (31_60), part paid before it and part after.
    old = _invoice(sessions, north, eur, 1000, "EUR", issued_on=date(2026, 1, 1), due_on=date(2026, 1, 30),
                   owner="ann")
    _pay(sessions, north, old, "400.00", "EUR", date(2026, 2, 15))
    _pay(sessions, north, old, "100.00", "EUR", date(2026, 4, 5))
    # Due 30 days before (1_30), in dollars, credited after the as-of day.
    dollars = _invoice(sessions, south, usd, 500, "USD", issued_on=date(2026, 2, 1), due_on=date(2026, 3, 1))
    _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
        invoice_id=dollars, amount="50.00", reason="late delivery"), by="c"))
    # Due 91 days before (over_90), written off today.
    bad = _invoice(sessions, south, eur, 300, "EUR", issued_on=date(2025, 12, 1), due_on=date(2025, 12, 30))
    _in(sessions, lambda s: invoices.write_off(s, TENANT, bad, "insolvent"))
    # Issued after the as-of day: not there yet.
    _invoice(sessions, north, eur, 200, "EUR", issued_on=date(2026, 4, 10), due_on=date(2026, 5, 10),
             owner="ann")
    # Due on the as-of day itself: current.
    _invoice(sessions, north, eur, 70, "EUR", issued_on=date(2026, 3, 1), due_on=AS_OF, owner="bob")

    by_owner = _ageing(sessions, "owner")
    assert set(by_owner) == {"ann", "bob", None, "(totals)"}
    assert _money(by_owner["ann"], "EUR") == {"31_60": Decimal(600)}
    assert _money(by_owner["bob"], "EUR") == {"current": Decimal(70)}
    nobody = by_owner[None]  # direct orders have no deal, so no owner
    assert (_money(nobody, "USD"), _money(nobody, "EUR")) == ({"1_30": Decimal(500)}, {"over_90": Decimal(300)})
    # 500 USD at EUR/USD 1.25 is 400 EUR.
    assert (nobody.converted.amounts["1_30"], nobody.converted.total, nobody.unconverted) == (
        Decimal("400.00"), Decimal("700.00"), [])
    totals = by_owner["(totals)"]
    assert (totals.converted.total, totals.invoices) == (Decimal("1370.00"), 4)
    assert {code: a.total for code, a in totals.by_currency.items()} == {"EUR": Decimal(970), "USD": Decimal(500)}

    by_region = _ageing(sessions, "region")
    assert set(by_region) == {"north", "south", "(totals)"}
    assert _money(by_region["north"], "EUR") == {"current": Decimal(70), "31_60": Decimal(600)}
    assert by_region["south"].converted.total == Decimal("700.00")
    by_customer = _ageing(sessions, "customer")
    assert by_customer[str(north)].invoices == 2 and by_customer[str(south)].invoices == 2

    # Today everything above has happened: the later payment, the credit note, the write-off and the new invoice.
    today = utcnow().date()
    now = _ageing(sessions, "customer", today)
    # North owes 500 of the old invoice, the 200 issued later and the 70; the written-off invoice is gone.
    north_now = now[str(north)].by_currency["EUR"]
    assert (north_now.total, north_now.invoices) == (Decimal(500 + 200 + 70), 3)
    assert {code: a.total for code, a in now[str(south)].by_currency.items()} == {"USD": Decimal(450)}
    # Before anything was issued: nothing owed.
    empty = _ageing(sessions, "owner", date(2025, 11, 30))
    assert set(empty) == {"(totals)"} and empty["(totals)"].converted.total == 0


def test_a_currency_without_a_rate_on_the_as_of_day_is_named_not_guessed(sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    # The rate starts after the as-of day (an order needs one today to be placed at all).
    _in(sessions, lambda s: exchange_rates.create_rate(s, TENANT, ExchangeRateCreate(
        base="EUR", quote="CHF", rate="0.95", valid_from=date(2026, 6, 1))))
    customer = _customer(sessions, "alps")
    _invoice(sessions, customer, _product(sessions, "CHF"), 95, "CHF", issued_on=date(2026, 3, 1),
             due_on=date(2026, 3, 15))
    alps = _ageing(sessions, "region")["alps"]
    assert _money(alps, "CHF") == {"1_30": Decimal(95)}
    assert (alps.converted.total, alps.unconverted) == (Decimal(0), ["CHF"])
    assert _ageing(sessions, "region", date(2026, 6, 1))["alps"].converted.total == Decimal("100.00")
