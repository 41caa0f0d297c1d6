"""Collections on both database backends, through the use cases called directly on a migrated database: invoices
on fixed due dates, the dunning job run on chosen days (a pre-due reminder announced as due soon, levels reached on their day and one
skipped, a second run the same day adding nothing), exactly one crm.sales.invoice.overdue.v1 per level past due in
the outbox, a payment closing an invoice ending its dunning, the collections list with each invoice's next step,
and a hold level putting the customer's new order on hold on confirmation until /approve. On PostgreSQL a run beside
another that holds its invoices publishes nothing twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.sales import contract
from services.sales.collections import service
from services.sales.collections.schemas import DunningLevelIn
from services.sales.customers.consumers import VIEW_REPLICA
from services.sales.invoices import service as invoices
from services.sales.invoices.schemas import InvoiceCreate
from services.sales.invoices.tables import Invoice
from services.sales.opportunities.schemas import LineIn
from services.sales.orders import service as orders
from services.sales.orders.schemas import OrderCreate
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
from shared.http import PageRequest

pytestmark = pytest.mark.integration

TENANT = "dunning"
T = TypeVar("T")
# A pre-due reminder 3 days before, then 7, 21 and 35 days past due.
LEVELS = [DunningLevelIn(offset_days=-3, action="reminder"), DunningLevelIn(offset_days=7, action="second_reminder"),
          DunningLevelIn(offset_days=21, action="call"), DunningLevelIn(offset_days=35, action="hold_new_orders")]


def _in(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with unit_of_work(sessions) as session:
        return work(session)


def _setup(sessions: sessionmaker[Session]) -> tuple[uuid.UUID, uuid.UUID]:
    """The tenant's policy with LEVELS, a customer in the replica and a product at 1.00 EUR."""
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed", dunning_levels=LEVELS), check_version=lambda _: None))
    customer = uuid.uuid4()
    data = {"customer_id": str(customer), "version": 1, "kpis": {}, "source_sequences": {},
            "profile": {"display_name": "Slow Payer Ltd", "kind": "organization"}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=contract.VIEW_UPDATED.name,
                       subject=str(customer), time=datetime.now(timezone.utc), data=data, tenant=TENANT, sequence=1)
    with sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic="crm.customer_view.v1", key=str(customer), event=event)],
                  VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)

    def product(session: Session) -> uuid.UUID:
        made = products.create_product(session, TENANT, ProductCreate(sku="SKU-DESK", name="Desk"))
        price_books.create_book(session, TENANT, PriceBookCreate(
            name="List EUR", currency="EUR", valid_from=date(2020, 1, 1),
            entries=[{"product_id": made.id, "unit_price": {"amount": "1.00", "currency": "EUR"}}]))
        return made.id
    return customer, _in(sessions, product)


def _order(sessions: sessionmaker[Session], customer: uuid.UUID, product: uuid.UUID, amount: int) -> Any:
    body = OrderCreate(customer_id=customer, currency="EUR", lines=[LineIn(product_id=product, quantity=str(amount))])
    placed = _in(sessions, lambda s: orders.place_order(s, TENANT, body, wait_seconds=0, by="clerk", may_approve=False))
    return _in(sessions, lambda s: orders.confirm(s, TENANT, placed.order.id, by="clerk"))


def _invoice(sessions: sessionmaker[Session], customer: uuid.UUID, product: uuid.UUID, amount: int,
             due_on: date) -> tuple[uuid.UUID, str]:
    """An invoice of ``amount`` EUR, its due date moved to the fixed day the test is about."""
    order = _order(sessions, customer, product, amount)
    issued = _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order.order.id)))
    with sessions.begin() as session:
        session.execute(update(Invoice).where(Invoice.id == issued.invoice.id).values(issued_on=date(2026, 3, 1),
                                                                                      due_on=due_on))
    return issued.invoice.id, issued.invoice.number


def _pay(sessions: sessionmaker[Session], customer: uuid.UUID, invoice: uuid.UUID, amount: str) -> None:
    _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=customer, amount={"amount": amount, "currency": "EUR"}, received_on=date(2026, 4, 15),
        allocations=[{"invoice_id": invoice, "amount": amount}]), by="clerk", wait_seconds=0))


def _overdue_events(sessions: sessionmaker[Session], event_type: str = contract.INVOICE_OVERDUE.name
                    ) -> list[dict[str, Any]]:
    with sessions() as session:
        return [row.data for row in session.scalars(
            select(OutboxRecord).where(OutboxRecord.type == event_type)
            .order_by(OutboxRecord.sequence)) if row.data is not None]


def _collections(sessions: sessionmaker[Session], as_of: date, **filters: Any) -> list[dict[str, Any]]:
    with sessions() as session:
        entries, _ = service.list_collections(session, TENANT, as_of=as_of, **filters)
    return [{"number": e.invoice.number, "days_past_due": e.days_past_due, "open": format(e.open_amount, "f"),
             "level": e.state.action if e.state else None,
             "next": (e.next_step.level.action, e.next_step.on) if e.next_step else None} for e in entries]


def test_dunning_moves_invoices_level_by_level_publishes_each_once_and_holds_new_orders(
        sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    customer, product = _setup(sessions)
    a, a_number = _invoice(sessions, customer, product, 100, date(2026, 3, 31))
    b, b_number = _invoice(sessions, customer, product, 250, date(2026, 4, 10))

    # The day before A's pre-due reminder: nothing. On it: reached, listed and announced as due soon, not overdue.
    assert service.advance_dunning(sessions, date(2026, 3, 27)) == 0
    assert service.advance_dunning(sessions, date(2026, 3, 28)) == 1
    assert _overdue_events(sessions) == []
    [soon] = _overdue_events(sessions, contract.INVOICE_DUE_SOON.name)
    assert (soon["number"], soon["action"], soon["days_past_due"], soon["offset_days"], soon["status"]) == (
        a_number, "reminder", -3, -3, "open")
    assert _collections(sessions, date(2026, 3, 28)) == [
        {"number": a_number, "days_past_due": -3, "open": "100.0000", "level": "reminder",
         "next": ("second_reminder", date(2026, 4, 7))}]

    # 7 days past A's due date: its second reminder, published once; B's pre-due reminder on the same run. A second
    # run that day adds nothing.
    assert service.advance_dunning(sessions, date(2026, 4, 7)) == 2
    assert service.advance_dunning(sessions, date(2026, 4, 7)) == 0
    events = _overdue_events(sessions)
    assert [(e["number"], e["action"], e["level"], e["days_past_due"], e["status"], e["open_amount"])
            for e in events] == [(a_number, "second_reminder", 2, 7, "overdue",
                                  {"amount": "100.00", "currency": "EUR"})]
    assert events[0]["customer_id"] == str(customer) and events[0]["due_on"] == "2026-03-31"

    # A part of A is paid; B is paid in full, which ends its dunning: no overdue event for B ever.
    _pay(sessions, customer, a, "40.00")
    _pay(sessions, customer, b, "250.00")
    # 25 days past due: A moves to the call (its day was 21); the open amount is what is left.
    assert service.advance_dunning(sessions, date(2026, 4, 25)) == 1
    assert _collections(sessions, date(2026, 4, 25)) == [
        {"number": a_number, "days_past_due": 25, "open": "60.0000", "level": "call",
         "next": ("hold_new_orders", date(2026, 5, 5))}]
    # 40 days past due: the hold (its day was the 35th); past the last level there is no next step.
    assert service.advance_dunning(sessions, date(2026, 5, 10)) == 1
    assert service.advance_dunning(sessions, date(2026, 6, 30)) == 0
    events = _overdue_events(sessions)
    assert [(e["number"], e["action"], e["days_past_due"], e["open_amount"]["amount"]) for e in events] == [
        (a_number, "second_reminder", 7, "100.00"), (a_number, "call", 25, "60.00"),
        (a_number, "hold_new_orders", 40, "60.00")]
    assert b_number not in {e["number"] for e in events}
    # Each invoice was reminded once before its due date (B on the run of 7 April), never again.
    assert [e["number"] for e in _overdue_events(sessions, contract.INVOICE_DUE_SOON.name)] == [a_number, b_number]
    assert _collections(sessions, date(2026, 5, 10)) == [
        {"number": a_number, "days_past_due": 40, "open": "60.0000", "level": "hold_new_orders", "next": None}]
    assert _collections(sessions, date(2026, 5, 10), action="call") == []
    assert [e["number"] for e in _collections(sessions, date(2026, 5, 10), action="hold_new_orders")] == [a_number]
    assert _collections(sessions, date(2026, 5, 10), customer_id=uuid.uuid4()) == []

    # A new order of the customer (well within any limit: none is set) goes on hold naming A, until approved.
    held = _order(sessions, customer, product, 10)
    assert held.order.status == "on_hold"
    with sessions() as session:
        change = next(c for c in orders.history(session, TENANT, held.order.id, PageRequest(limit=10, after=None))
                      if c.to_status == "on_hold")
        held_events = [r.data for r in session.scalars(select(OutboxRecord).where(
            OutboxRecord.type == contract.ORDER_HELD.name)) if r.data is not None]
    assert a_number in (change.details or {})["dunning_hold"]
    assert len(held_events) == 1 and a_number in held_events[0]["reason"]
    approved = _in(sessions, lambda s: orders.approve(s, TENANT, held.order.id, by="manager"))
    assert approved.order.status == "confirmed"
    # A paid in full: it leaves the list, and the next order is confirmed.
    _pay(sessions, customer, a, "60.00")
    assert _collections(sessions, date(2026, 5, 10)) == []
    assert _order(sessions, customer, product, 10).order.status == "confirmed"


def test_runs_side_by_side_and_paging_publish_each_level_once(sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    customer, product = _setup(sessions)
    numbers = [_invoice(sessions, customer, product, 10 + i, date(2026, 3, 30 - i % 3))[1] for i in range(6)]
    # Every one at its pre-due reminder first, so the runs below race on moving a level already recorded.
    assert service.advance_dunning(sessions, date(2026, 3, 28)) == 6
    concurrent = sessions.kw["bind"].dialect.name == "postgresql"
    if concurrent:
        # A run holds its batch's invoices, not committed yet, while another runs beside it: that one takes none
        # of them (skipped while locked; a run waiting for them instead would find them moved), so no level is
        # published twice.
        day, beside = date(2026, 4, 20), [-1]
        first = sessions()
        try:
            found, moved, _ = service.advance_batch(first, TENANT, day)
            other = threading.Thread(target=lambda: beside.__setitem__(0, service.advance_dunning(sessions, day)))
            other.start()
            other.join(timeout=3)
            first.commit()
        finally:
            first.close()
        other.join()
        assert (found, moved, beside[0]) == (6, 6, 0)
    else:
        assert service.advance_dunning(sessions, date(2026, 4, 20)) == 6
    assert service.advance_dunning(sessions, date(2026, 4, 20)) == 0
    events = _overdue_events(sessions)
    assert sorted(e["number"] for e in events) == sorted(numbers)
    # 21 to 23 days past due, straight from the pre-due reminder to the call: the second reminder is skipped.
    assert {e["action"] for e in events} == {"call"}
    # Pages of two, oldest due first (28th, 29th, 30th), each page starting after the last.
    seen: list[tuple[date, str]] = []
    cursor: str | None = None
    with sessions() as session:
        while True:
            entries, cursor = service.list_collections(session, TENANT, as_of=date(2026, 4, 20), cursor=cursor,
                                                       limit=2)
            assert len(entries) == 2
            seen += [(e.invoice.due_on, e.invoice.number) for e in entries]
            if cursor is None:
                break
    assert len(seen) == 6 and {n for _, n in seen} == set(numbers)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) == [date(2026, 3, 28)] * 2 + [date(2026, 3, 29)] * 2 + [
        date(2026, 3, 30)] * 2
