"""Loyalty points on both database backends, through the use cases called directly on a migrated database: an
invoice paid in two parts earns once, by category and the customer's value tier, with each line's reason; the
points redeemed on a new order in another currency lower its total and so its invoice; a redemption beyond the
balance writes nothing; what the lot still holds expires after its day, once; on PostgreSQL redemptions at
once never spend more than the account holds. The outbox holds the events."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

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
from services.sales.invoices.tables import Invoice
from services.sales.loyalty import rules, service
from services.sales.loyalty.schemas import LoyaltyPolicyIn, RedemptionIn
from services.sales.loyalty.tables import LoyaltyMovement
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
from shared.db import OutboxRecord, unit_of_work, utcnow
from shared.envelope import CloudEvent
from shared.errors import Conflict, NotFound
from shared.http import PageRequest

pytestmark = pytest.mark.integration

TENANT = "loyal"
T = TypeVar("T")
PAGE = PageRequest(limit=50, after=None)


def _in(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with unit_of_work(sessions) as session:
        return work(session)


def _customer(sessions: sessionmaker[Session], tier: str | None) -> uuid.UUID:
    customer = uuid.uuid4()
    data = {"customer_id": str(customer), "version": 1, "kpis": {}, "source_sequences": {},
            "profile": {"display_name": "Loyal buyer", "kind": "organization", "value_tier": tier}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=VIEW_UPDATED.name, subject=str(customer),
                       time=datetime.now(timezone.utc), data=data, tenant=TENANT, sequence=1)
    with sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic="crm.customer_view.v1", key=str(customer), event=event)],
                  VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)
    return customer


def _products(sessions: sessionmaker[Session], *categories: str) -> list[uuid.UUID]:
    """A product of each category, at 1.00 a unit in EUR and in USD."""
    def work(session: Session) -> list[uuid.UUID]:
        made = [products.create_product(session, TENANT, ProductCreate(
            sku=f"SKU-{uuid.uuid4().hex[:8]}", name=category, category=category)).id for category in categories]
        for currency in ("EUR", "USD"):
            price_books.create_book(session, TENANT, PriceBookCreate(
                name=f"List {currency}", currency=currency, valid_from=date(2020, 1, 1),
                entries=[{"product_id": p, "unit_price": {"amount": "1.00", "currency": currency}} for p in made]))
        return made
    return _in(sessions, work)


def _order(sessions: sessionmaker[Session], customer: uuid.UUID, currency: str,
           lines: list[tuple[uuid.UUID, str]]) -> uuid.UUID:
    body = OrderCreate(customer_id=customer, currency=currency,
                       lines=[{"product_id": p, "quantity": q} for p, q in lines])
    return _in(sessions, lambda s: orders.place_order(s, TENANT, body, wait_seconds=0, by="c",
                                                      may_approve=False)).order.id


def _invoice(sessions: sessionmaker[Session], order: uuid.UUID) -> Invoice:
    _in(sessions, lambda s: orders.confirm(s, TENANT, order, by="c"))
    return _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order))).invoice


def _pay(sessions: sessionmaker[Session], customer: uuid.UUID, invoice: uuid.UUID, amount: str) -> None:
    _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=customer, amount={"amount": amount, "currency": "EUR"},
        allocations=[{"invoice_id": invoice, "amount": amount}]), by="c", wait_seconds=0))


def _account(sessions: sessionmaker[Session], customer: uuid.UUID, today: date | None = None) -> service.Account:
    with sessions() as session:
        return service.account(session, TENANT, customer, PAGE, today=today or utcnow().date())


def _redeem(sessions: sessionmaker[Session], customer: uuid.UUID, order: uuid.UUID, points: int) -> service.Redemption:
    return _in(sessions, lambda s: service.redeem(s, TENANT, customer, RedemptionIn(order_id=order, points=points),
                                                  by="c"))


def _outbox(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, object]]]:
    with sessions() as session:
        rows = session.execute(select(OutboxRecord.type, OutboxRecord.key, OutboxRecord.data).where(
            OutboxRecord.type.like("crm.sales.loyalty.%")).order_by(OutboxRecord.sequence)).all()
    found: dict[str, list[dict[str, object]]] = {}
    for kind, key, data in rows:
        assert data is not None and key == data["customer_id"]
        found.setdefault(kind, []).append(data)
    return found


def _setup(sessions: sessionmaker[Session]) -> None:
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    _in(sessions, lambda s: exchange_rates.create_rate(s, TENANT, ExchangeRateCreate(
        base="EUR", quote="USD", rate="1.25", valid_from=date(2020, 1, 1))))
    _in(sessions, lambda s: service.change_policy(s, TENANT, LoyaltyPolicyIn(
        earning_rules=[{"category": "Hardware", "points_per_unit": "1"},
                       {"category": "Hardware/Laptops", "value_tier": "gold", "points_per_unit": "2"},
                       {"category": "Software", "points_per_unit": "0.5"}],
        point_value="0.10", expiry_months=12), check_version=lambda _: None))


def test_points_earned_once_on_a_paid_invoice_redeemed_on_an_order_and_expired_after_their_day(
        sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    gold = _customer(sessions, "gold")
    with pytest.raises(NotFound):
        _account(sessions, uuid.uuid4())
    # No policy yet: nothing to redeem, and a known customer's account is empty, not missing.
    empty = _account(sessions, gold)
    assert (empty.balance, empty.expiring_next, empty.history) == (0, None, [])
    _setup(sessions)
    laptop, software = _products(sessions, "Hardware/Laptops", "Software")

    # 300.00 of laptops (gold: 2 a euro) and 101.00 of software (0.5 a euro: 50.5, rounded down).
    first = _invoice(sessions, _order(sessions, gold, "EUR", [(laptop, "300"), (software, "101")]))
    _pay(sessions, gold, first.id, "200.00")
    assert _account(sessions, gold).balance == 0  # not paid yet
    _pay(sessions, gold, first.id, "201.00")
    today = utcnow().date()
    expires_on = rules.expiry_day(today, 12)
    paid = _account(sessions, gold)
    assert (paid.balance, paid.expiring_next) == (650, (650, expires_on))
    [earned] = paid.history
    assert (earned.kind, earned.points, earned.balance_after, earned.invoice_id, earned.expires_on) == (
        "earned", 650, 650, first.id, expires_on)
    assert earned.details is not None
    assert [(line["points"], line["points_per_unit"]) for line in earned.details["lines"]] == [(600, "2"), (50, "0.5")]
    # Once per invoice: paid again (as a replayed settlement would) earns nothing more.
    with sessions() as session:
        invoice = session.get(Invoice, first.id)
        assert invoice is not None and invoice.status == "paid"
        assert service.earn_for_invoice(session, invoice) is None

    # 200 points at 0.10 EUR on a USD order at 1.25 USD a euro: 25.00 USD off 80.00.
    dollars = _order(sessions, gold, "USD", [(software, "80")])
    done = _redeem(sessions, gold, dollars, 200)
    assert (done.discount.amount, done.order_total.amount, done.movement.balance_after) == (
        Decimal("25.00"), Decimal("55.00"), 450)
    with sessions() as session:
        order = session.get(Order, dollars)
        assert order is not None and (order.total, order.loyalty_discount) == (Decimal("55.00"), Decimal("25.00"))
    assert _invoice(sessions, dollars).total == Decimal("55.00")
    # Invoiced now: no more points on it; and more than the balance on a fresh order writes nothing.
    with pytest.raises(Conflict):
        _redeem(sessions, gold, dollars, 10)
    euros = _order(sessions, gold, "EUR", [(laptop, "100")])
    with pytest.raises(Conflict) as refused:
        _redeem(sessions, gold, euros, 451)
    assert refused.value.errors == [{"field": "points", "message": "at most 450"}]
    with sessions() as session:
        order = session.get(Order, euros)
        assert order is not None and (order.total, order.loyalty_discount, order.version) == (Decimal("100.00"), None, 1)
        assert session.scalar(select(func.count()).select_from(LoyaltyMovement)) == 2

    # Usable through its day; the day after, what the lot still holds expires, once.
    assert _in(sessions, lambda s: service.expire_due(s, expires_on)) == 0
    day_after = expires_on + timedelta(days=1)
    assert _in(sessions, lambda s: service.expire_due(s, day_after)) == 1
    assert _in(sessions, lambda s: service.expire_due(s, day_after)) == 0
    late = _account(sessions, gold, day_after)
    assert (late.balance, late.expiring_next) == (0, None)
    assert [(m.kind, m.points) for m in late.history] == [("expired", -450), ("redeemed", -200), ("earned", 650)]

    events = _outbox(sessions)
    assert set(events) == {"crm.sales.loyalty.earned.v1", "crm.sales.loyalty.redeemed.v1",
                           "crm.sales.loyalty.expired.v1"}
    [won], [spent], [lost] = (events[f"crm.sales.loyalty.{k}.v1"] for k in ("earned", "redeemed", "expired"))
    assert (won["points"], won["balance"], won["invoice_id"]) == (650, 650, str(first.id))
    assert [(line["points"], line["reason"]) for line in won["lines"]] == [  # type: ignore[union-attr]
        (600, "category Hardware/Laptops, tier gold: 2 per unit of EUR, on 300 EUR"),
        (50, "category Software, tier (any): 0.5 per unit of EUR, on 101 EUR")]
    assert (spent["points"], spent["balance"], spent["discount"]) == (200, 450, {"amount": "25.00", "currency": "USD"})
    assert (lost["points"], lost["balance"], lost["expires_on"]) == (450, 0, expires_on.isoformat())


def _return(sessions: sessionmaker[Session], order: uuid.UUID, line: int, quantity: str) -> None:
    """Goods back and the return credited, as a credit note against the order's invoice."""
    _, record = _in(sessions, lambda s: orders.take_return(s, TENANT, order, ReturnIn(
        lines=[{"line": line, "quantity": quantity}]), by="c"))
    _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
        return_id=record.id, reason="broken"), by="c"))


def test_returns_and_corrections_take_back_what_they_no_longer_earn_and_a_cancellation_gives_points_back(
        sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _setup(sessions)
    gold = _customer(sessions, "gold")
    laptop, software = _products(sessions, "Hardware/Laptops", "Software")
    bought = _order(sessions, gold, "EUR", [(laptop, "300"), (software, "101")])
    invoice = _invoice(sessions, bought)
    _in(sessions, lambda s: orders.ship(s, TENANT, bought, by="c"))
    _pay(sessions, gold, invoice.id, "401.00")
    assert _account(sessions, gold).balance == 650  # 600 for the laptops (gold: 2 a euro), 50 for the software

    # 100 of the 300 laptops come back: those lines earn 400 now, so 200 points go.
    _return(sessions, bought, 0, "100")
    assert _account(sessions, gold).balance == 450
    # 300 points off another order; then a correction of a tenth of the invoice: 405 points are earned now,
    # 45 more go (the software's 90.90 earns 45, the laptops' 180 earn 360).
    other = _order(sessions, gold, "EUR", [(laptop, "100")])
    _redeem(sessions, gold, other, 300)
    _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
        invoice_id=invoice.id, amount="40.10", reason="late delivery"), by="c"))
    assert _account(sessions, gold).balance == 105
    # The discounted order is cancelled: its 300 points come back to the lot they came from.
    _in(sessions, lambda s: orders.cancel(s, TENANT, other, reason="changed mind", by="c"))
    assert _account(sessions, gold).balance == 405
    assert _in(sessions, lambda s: service.restore_redemption(s, s.get(Order, other))) is None  # once

    # 400 of them spent; then the other 200 laptops come back: 360 are due, 5 are left to take.
    third = _order(sessions, gold, "EUR", [(laptop, "100")])
    _redeem(sessions, gold, third, 400)
    _return(sessions, bought, 0, "200")
    account = _account(sessions, gold)
    assert account.balance == 0
    assert [(m.kind, m.points) for m in account.history] == [
        ("reversed", -5), ("redeemed", -400), ("restored", 300), ("reversed", -45), ("redeemed", -300),
        ("reversed", -200), ("earned", 650)]
    events = _outbox(sessions)
    assert [(e["points"], e["points_due"], e["shortfall"], e["balance"])
            for e in events["crm.sales.loyalty.reversed.v1"]] == [(200, 200, 0, 450), (45, 45, 0, 105), (5, 360, 355, 0)]
    assert [(e["points"], e["balance"], e["order_id"]) for e in events["crm.sales.loyalty.restored.v1"]] == [
        (300, 405, str(other))]


def test_redemptions_at_once_never_spend_more_than_the_account_holds(
        sales_sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> None:
    if "postgresql" not in request.node.callspec.id:
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    sessions = sales_sessions
    _setup(sessions)
    customer = _customer(sessions, None)
    [hardware] = _products(sessions, "Hardware/Mice")
    invoice = _invoice(sessions, _order(sessions, customer, "EUR", [(hardware, "100")]))
    _pay(sessions, customer, invoice.id, "100.00")  # 100 points
    placed = [_order(sessions, customer, "EUR", [(hardware, "50")]) for _ in range(4)]
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(placed))

    def run(order: uuid.UUID) -> None:
        barrier.wait()
        try:
            _redeem(sessions, customer, order, 40)
        except Conflict as refused:
            failures.append(refused)

    threads = [threading.Thread(target=run, args=(order,)) for order in placed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 100 points: two redemptions of 40 fit, the other two are refused.
    assert len(failures) == 2
    account = _account(sessions, customer)
    assert account.balance == 20 and sorted(m.points for m in account.history) == [-40, -40, 100]
