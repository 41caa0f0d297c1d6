"""Profitability and cross-sell offers on both database backends, through the use cases called directly on a
migrated database: a known month of invoices in two currencies (two categories, two customer segments, two
owners and direct orders, three channels, a return credited and a correction) gives exact figures per slice;
offers on a known basket set rank co-bought products first and leave out owned, inactive and cancelled ones; the
offers job publishes one event per customer whose offers changed, and nothing when run again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.sales.contract import OFFERS_UPDATED, VIEW_UPDATED
from services.sales.credit_notes import service as credit_notes
from services.sales.credit_notes.schemas import CreditNoteCreate
from services.sales.credit_notes.tables import CreditNote
from services.sales.customers.consumers import VIEW_REPLICA
from services.sales.exchange_rates import service as exchange_rates
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from services.sales.invoices import service as invoices
from services.sales.invoices.schemas import InvoiceCreate
from services.sales.invoices.tables import Invoice
from services.sales.loyalty import service as loyalty
from services.sales.loyalty.schemas import LoyaltyPolicyIn, RedemptionIn
from services.sales.offers import service as offers
from services.sales.offers.tables import SegmentTouch
from services.sales.opportunities import service as opportunities
from services.sales.opportunities.schemas import LineIn, OpportunityCreate
from services.sales.orders import service as orders
from services.sales.orders.schemas import OrderCreate, ReturnIn
from services.sales.payments import service as payments
from services.sales.payments.schemas import PaymentCreate
from services.sales.price_books import service as price_books
from services.sales.price_books.schemas import PriceBookCreate
from services.sales.products import service as products
from services.sales.products.schemas import ProductCreate
from services.sales.products.tables import Product, ProductCost
from services.sales.profitability import rules, service
from services.sales.sales_policy import service as sales_policy
from services.sales.sales_policy.schemas import SalesPolicyIn
from shared.consumer import Delivery, apply_all
from shared.db import OutboxRecord, unit_of_work
from shared.envelope import CloudEvent
from shared.errors import NotFound

pytestmark = pytest.mark.integration

TENANT = "margins"
T = TypeVar("T")
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def _in(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    with unit_of_work(sessions) as session:
        return work(session)


def _customer(sessions: sessionmaker[Session], group: str, tier: str, region: str) -> uuid.UUID:
    customer = uuid.uuid4()
    data = {"customer_id": str(customer), "version": 1, "kpis": {}, "source_sequences": {},
            "profile": {"display_name": f"{group} {tier} in {region}", "kind": "organization", "region": region,
                        "customer_group": group, "value_tier": tier}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=VIEW_UPDATED.name, subject=str(customer),
                       time=datetime.now(timezone.utc), data=data, tenant=TENANT, sequence=1)
    with sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic="crm.customer_view.v1", key=str(customer), event=event)],
                  VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)
    return customer


def _product(sessions: sessionmaker[Session], sku: str, name: str, category: str,
             cost: tuple[str, str] | None) -> uuid.UUID:
    return _in(sessions, lambda s: products.create_product(s, TENANT, ProductCreate(
        sku=sku, name=name, category=category,
        cost_price={"amount": cost[0], "currency": cost[1]} if cost else None)).id)


def _book(sessions: sessionmaker[Session], currency: str, prices: dict[uuid.UUID, str]) -> None:
    _in(sessions, lambda s: price_books.create_book(s, TENANT, PriceBookCreate(
        name=f"List {currency}", currency=currency, valid_from=date(2020, 1, 1),
        entries=[{"product_id": p, "unit_price": {"amount": price, "currency": currency}}
                 for p, price in prices.items()])))


def _order(sessions: sessionmaker[Session], customer: uuid.UUID, currency: str, lines: list[LineIn], *,
           owner: str | None = None, channel: str | None = None) -> uuid.UUID:
    """A confirmed order: from a won deal of ``owner``, or placed directly."""
    if owner is not None:
        deal = _in(sessions, lambda s: opportunities.create_opportunity(s, TENANT, OpportunityCreate(
            customer_id=customer, name="Deal", currency=currency, lines=lines, stage="closed_won",
            close_reason="price", owner=owner), wait_seconds=0, may_approve=True).opportunity.id)
        body = OrderCreate(customer_id=customer, opportunity_id=deal, channel=channel)
    else:
        body = OrderCreate(customer_id=customer, currency=currency, lines=lines, channel=channel)
    order = _in(sessions, lambda s: orders.place_order(s, TENANT, body, wait_seconds=0, by="c", may_approve=True))
    _in(sessions, lambda s: orders.confirm(s, TENANT, order.order.id, by="c"))
    return order.order.id


def _invoice(sessions: sessionmaker[Session], order: uuid.UUID, issued_on: date) -> uuid.UUID:
    """The order invoiced, its issue day moved to the fixed day the test is about (the use case issues today)."""
    issued = _in(sessions, lambda s: invoices.issue_invoice(s, TENANT, InvoiceCreate(order_id=order)))
    with sessions.begin() as session:
        session.execute(update(Invoice).where(Invoice.id == issued.invoice.id).values(issued_on=issued_on))
    return issued.invoice.id


def _dated_note(sessions: sessionmaker[Session], note_id: uuid.UUID, issued_on: date) -> None:
    with sessions.begin() as session:
        session.execute(update(CreditNote).where(CreditNote.id == note_id).values(issued_on=issued_on))


def _margins(sessions: sessionmaker[Session], group_by: str, depth: int = 1,
             period: tuple[date, date] = MARCH) -> dict[Any, rules.Group]:
    with sessions() as session:
        found = service.profitability(session, TENANT, start=period[0], end=period[1], currency="EUR",
                                      group_by=rules.parse_group_by(group_by), category_depth=depth)
    return {g.key: g for g in found.groups} | {"(total)": found.total}


def _figures(group: rules.Group) -> dict[str, Decimal]:
    f = group.converted
    return {name: getattr(f, name) for name in rules.FIGURES if getattr(f, name)} | {
        "margin": f.contribution_margin}


def _line(product: uuid.UUID, quantity: str, discount: str | None = None) -> LineIn:
    return LineIn(product_id=product, quantity=quantity, discount_percent=discount)


def test_profitability_of_a_known_month_per_category_channel_and_owner(sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    # One dollar is 0.80 euro.
    _in(sessions, lambda s: exchange_rates.create_rate(s, TENANT, ExchangeRateCreate(
        base="EUR", quote="USD", rate="1.25", valid_from=date(2020, 1, 1))))
    laptop = _product(sessions, "LAP-1", "Laptop", "Hardware/Laptops", ("600", "EUR"))
    dock = _product(sessions, "DOCK-1", "Dock", "Hardware/Docks", ("40", "EUR"))
    support = _product(sessions, "SUP-1", "Support", "Services/Support", ("10", "USD"))
    _book(sessions, "EUR", {laptop: "1000.00", dock: "100.00"})
    _book(sessions, "USD", {support: "200.00"})
    north = _customer(sessions, "retail", "gold", "north")
    south = _customer(sessions, "retail", "gold", "south")
    trade = _customer(sessions, "wholesale", "silver", "north")

    # Ann's deal, on the web: 2 laptops at 10 % off (2000 gross, 1800 net, cost 1200) and a dock (100, cost 40).
    _invoice(sessions, _order(sessions, north, "EUR", [_line(laptop, "2", "10"), _line(dock, "1")], owner="ann",
                              channel="web"), date(2026, 3, 10))
    # Direct, through a partner, in dollars: 5 support packs, 1000 USD (800 EUR), cost 50 USD (40 EUR); then a
    # correction of 25 USD (20 EUR).
    dollars = _invoice(sessions, _order(sessions, south, "USD", [_line(support, "5")], channel="partner"),
                       date(2026, 3, 12))
    correction = _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
        invoice_id=dollars, amount="25.00", reason="late"), by="c"))
    _dated_note(sessions, correction.id, date(2026, 3, 25))
    # Bob's deal, no channel given (no lead behind it: direct): 4 docks at 5 % off (400 gross, 380 net, cost 160),
    # one of them back after the invoice and credited (95, its cost 40 back).
    bobs = _order(sessions, trade, "EUR", [_line(dock, "4", "5")], owner="bob")
    _invoice(sessions, bobs, date(2026, 3, 15))
    _in(sessions, lambda s: orders.ship(s, TENANT, bobs, by="c"))
    _, back = _in(sessions, lambda s: orders.take_return(s, TENANT, bobs, ReturnIn(lines=[{"line": 0, "quantity": "1"}]),
                                                         by="c"))
    note = _in(sessions, lambda s: credit_notes.issue_credit_note(s, TENANT, CreditNoteCreate(
        return_id=back.id, reason="broken"), by="c"))
    _dated_note(sessions, note.id, date(2026, 3, 20))
    # Invoiced in April: not March's.
    _invoice(sessions, _order(sessions, north, "EUR", [_line(dock, "1")], channel="web"), date(2026, 4, 2))

    total = _margins(sessions, "")["(total)"]
    assert _figures(total) == {"gross_revenue": Decimal("3300.00"), "discounts": Decimal("220.00"),
                               "net_revenue": Decimal("3080.00"), "returns": Decimal("95.00"),
                               "corrections": Decimal("20.00"), "cost_of_goods": Decimal("1440.00"),
                               "returned_cost": Decimal("40.00"), "margin": Decimal("1565.00")}
    assert (total.converted.margin_percent, total.unconverted, total.uncosted) == (Decimal("50.81"), {}, set())

    by_category = _margins(sessions, "category")
    assert set(by_category) == {("Hardware",), ("Services",), (None,), "(total)"}
    assert _figures(by_category[("Hardware",)]) == {
        "gross_revenue": Decimal("2500.00"), "discounts": Decimal("220.00"), "net_revenue": Decimal("2280.00"),
        "returns": Decimal("95.00"), "cost_of_goods": Decimal("1400.00"), "returned_cost": Decimal("40.00"),
        "margin": Decimal("825.00")}
    assert _figures(by_category[("Services",)])["margin"] == Decimal("760.00")
    # A correction names no product: its category is null.
    assert _figures(by_category[(None,)]) == {"corrections": Decimal("20.00"), "margin": Decimal("-20.00")}
    deeper = _margins(sessions, "category", depth=2)
    assert _figures(deeper[("Hardware/Laptops",)]) == {
        "gross_revenue": Decimal("2000.00"), "discounts": Decimal("200.00"), "net_revenue": Decimal("1800.00"),
        "cost_of_goods": Decimal("1200.00"), "margin": Decimal("600.00")}

    by_channel = _margins(sessions, "category,channel")
    assert {key: _figures(g)["margin"] for key, g in by_channel.items() if key != "(total)"} == {
        ("Hardware", "direct"): Decimal("165.00"), ("Hardware", "web"): Decimal("660.00"),
        ("Services", "partner"): Decimal("760.00"), (None, "partner"): Decimal("-20.00")}
    by_owner = _margins(sessions, "owner")
    assert {key: _figures(g)["margin"] for key, g in by_owner.items()} == {
        ("ann",): Decimal("660.00"), ("bob",): Decimal("165.00"), (None,): Decimal("740.00"),
        "(total)": Decimal("1565.00")}
    by_segment = _margins(sessions, "customer_group,value_tier,region")
    assert _figures(by_segment[("retail", "gold", "south")])["net_revenue"] == Decimal("800.00")
    assert _figures(by_segment[("wholesale", "silver", "north")])["margin"] == Decimal("165.00")
    # April alone: the one dock.
    april = _margins(sessions, "", period=(date(2026, 4, 1), date(2026, 4, 30)))["(total)"]
    assert _figures(april) == {"gross_revenue": Decimal("100.00"), "net_revenue": Decimal("100.00"),
                               "cost_of_goods": Decimal("40.00"), "margin": Decimal("60.00")}


def test_a_loyalty_discount_is_a_discount_shared_among_the_orders_lines(sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    _in(sessions, lambda s: loyalty.change_policy(s, TENANT, LoyaltyPolicyIn(
        earning_rules=[{"category": "Hardware", "points_per_unit": "1"}], point_value="0.10", expiry_months=12),
        check_version=lambda _: None))
    laptop = _product(sessions, "LAP-2", "Laptop", "Hardware/Laptops", ("600", "EUR"))
    dock = _product(sessions, "DOCK-2", "Dock", "Hardware/Docks", ("40", "EUR"))
    _book(sessions, "EUR", {laptop: "1000.00", dock: "100.00"})
    buyer = _customer(sessions, "retail", "gold", "north")
    # February: a dock, paid: 100 points.
    february = _invoice(sessions, _order(sessions, buyer, "EUR", [_line(dock, "1")]), date(2026, 2, 5))
    _in(sessions, lambda s: payments.receive_payment(s, TENANT, PaymentCreate(
        customer_id=buyer, amount={"amount": "100.00", "currency": "EUR"},
        allocations=[{"invoice_id": february, "amount": "100.00"}]), by="c", wait_seconds=0))
    # March: a laptop and a dock, 10.00 off for the 100 points, invoiced for 1090.00.
    march = _in(sessions, lambda s: orders.place_order(s, TENANT, OrderCreate(
        customer_id=buyer, currency="EUR", lines=[_line(laptop, "1"), _line(dock, "1")]),
        wait_seconds=0, by="c", may_approve=True)).order.id
    _in(sessions, lambda s: loyalty.redeem(s, TENANT, buyer, RedemptionIn(order_id=march, points=100), by="c"))
    _in(sessions, lambda s: orders.confirm(s, TENANT, march, by="c"))
    _invoice(sessions, march, date(2026, 3, 10))

    total = _margins(sessions, "")["(total)"]
    assert _figures(total) == {"gross_revenue": Decimal("1100.00"), "discounts": Decimal("10.00"),
                               "loyalty_discounts": Decimal("10.00"), "net_revenue": Decimal("1090.00"),
                               "cost_of_goods": Decimal("640.00"), "margin": Decimal("450.00")}
    # Shared by line total: 1000 of 1100 on the laptop, 100 on the dock; the groups still add up to the total.
    deeper = _margins(sessions, "category", depth=2)
    assert (_figures(deeper[("Hardware/Laptops",)])["loyalty_discounts"],
            _figures(deeper[("Hardware/Docks",)])["loyalty_discounts"]) == (Decimal("9.09"), Decimal("0.91"))
    assert _figures(deeper[("Hardware/Laptops",)])["net_revenue"] == Decimal("990.91")


def test_a_sale_is_costed_at_the_cost_price_of_its_invoices_day(sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    laptop = _product(sessions, "LAP-3", "Laptop", "Hardware/Laptops", ("600", "EUR"))
    _book(sessions, "EUR", {laptop: "1000.00"})
    buyer = _customer(sessions, "retail", "gold", "north")

    def cost_from(day: date) -> None:
        """The cost price recorded today, dated back to the day the test is about (the use case records today)."""
        with sessions.begin() as session:
            session.execute(update(ProductCost).where(ProductCost.product_id == laptop,
                                                      ProductCost.valid_from > day).values(valid_from=day))

    cost_from(date(2026, 1, 1))
    _in(sessions, lambda s: products.update_product(s, TENANT, laptop, {"cost_price": {"amount": "700",
                                                                                       "currency": "EUR"}},
                                                    check_version=lambda _: None))
    cost_from(date(2026, 3, 15))
    for day in (date(2026, 3, 10), date(2026, 3, 20)):
        _invoice(sessions, _order(sessions, buyer, "EUR", [_line(laptop, "1")]), day)
    # 600 before the 15th, 700 from it; the product's cost now (700) is not used for the earlier sale.
    assert _figures(_margins(sessions, "")["(total)"])["cost_of_goods"] == Decimal("1300.00")
    early = _margins(sessions, "", period=(date(2026, 3, 1), date(2026, 3, 14)))["(total)"]
    assert _figures(early)["cost_of_goods"] == Decimal("600.00")


def _offered(sessions: sessionmaker[Session], customer: uuid.UUID) -> offers.Offers:
    with sessions() as session:
        return offers.offers(session, TENANT, customer, limit=10)


def _offer_events(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        return [row.data for row in session.scalars(select(OutboxRecord).where(
            OutboxRecord.type == OFFERS_UPDATED.name).order_by(OutboxRecord.sequence))]


def test_offers_rank_what_similar_customers_bought_and_the_job_publishes_only_changes(
        sales_sessions: sessionmaker[Session]) -> None:
    sessions = sales_sessions
    _in(sessions, lambda s: sales_policy.change_policy(s, TENANT, SalesPolicyIn(
        currency="EUR", invoice_from="confirmed"), check_version=lambda _: None))
    laptop = _product(sessions, "LAP-1", "Laptop", "Hardware/Laptops", None)
    dock = _product(sessions, "DOCK-1", "Dock", "Hardware/Docks", None)
    support = _product(sessions, "SUP-1", "Support", "Services", None)
    cable = _product(sessions, "CAB-1", "Cable", "Hardware/Cables", None)
    old = _product(sessions, "OLD-1", "Old model", "Hardware/Laptops", None)
    _book(sessions, "EUR", {laptop: "1000.00", dock: "100.00", support: "200.00", cable: "5.00", old: "500.00"})
    mine, invoiced, delivered, cancelled, newcomer = (_customer(sessions, "retail", "gold", "north") for _ in range(5))
    other = _customer(sessions, "wholesale", "silver", "north")

    # "mine" owns a laptop and a dock (invoiced); "invoiced" bought support (invoiced); "delivered" bought a laptop,
    # support, a cable and the old model (delivered, not invoiced); "cancelled" only ever cancelled a dock order.
    _invoice(sessions, _order(sessions, mine, "EUR", [_line(laptop, "1"), _line(dock, "1")]), date(2026, 3, 1))
    _invoice(sessions, _order(sessions, invoiced, "EUR", [_line(support, "1")]), date(2026, 3, 2))
    shipped = _order(sessions, delivered, "EUR", [_line(laptop, "1"), _line(support, "1"), _line(cable, "2"),
                                                  _line(old, "1")])
    _in(sessions, lambda s: orders.ship(s, TENANT, shipped, by="c"))
    _in(sessions, lambda s: orders.deliver(s, TENANT, shipped, by="c"))
    dropped = _order(sessions, cancelled, "EUR", [_line(dock, "3")])
    _in(sessions, lambda s: orders.cancel(s, TENANT, dropped, reason=None, by="c"))
    _invoice(sessions, _order(sessions, other, "EUR", [_line(cable, "1")]), date(2026, 3, 3))
    with sessions.begin() as session:
        session.execute(update(Product).where(Product.id == old).values(active=False))

    found = _offered(sessions, mine)
    assert (found.segment.customer_group, found.segment.value_tier, found.similar) == ("retail", "gold", 2)
    assert [(o.item.sku, o.co_bought_by, o.bought_by, format(o.score, "f")) for o in found.offers] == [
        ("SUP-1", 1, 2, "1.6667"), ("CAB-1", 1, 1, "1.3333")]
    assert found.offers[0].reason == ("bought by 2 of 2 similar customers (group retail, tier gold); "
                                      "1 of them also bought Laptop (LAP-1)")
    # No orders: the segment's most popular, then by SKU; the cancelled order is no basket.
    fresh = _offered(sessions, newcomer)
    assert fresh.similar == 3
    assert [(o.item.sku, o.bought_by) for o in fresh.offers] == [("LAP-1", 2), ("SUP-1", 2), ("CAB-1", 1),
                                                                  ("DOCK-1", 1)]
    assert fresh.offers[0].reason == "bought by 2 of 3 similar customers (group retail, tier gold)"
    assert _offered(sessions, other).offers == []
    # Another tenant's customer is as unknown as nobody's.
    with sessions() as session, pytest.raises(NotFound):
        offers.offers(session, "someone-else", mine)

    # Touched: both segments. Every retail/gold customer has offers (5 events); the wholesale one has none and
    # never had any (no event).
    assert offers.refresh_offers(sessions) == 5
    events = _offer_events(sessions)
    assert sorted(e["customer_id"] for e in events) == sorted(str(c) for c in (mine, invoiced, delivered, cancelled,
                                                                               newcomer))
    by_customer = {e["customer_id"]: e for e in events}
    assert [(o["sku"], o["score"]) for o in by_customer[str(mine)]["offers"]] == [("SUP-1", "1.6667"),
                                                                                 ("CAB-1", "1.3333")]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SegmentTouch)) == 0
    # Nothing touched since: nothing to do. Touched again with the same baskets: recomputed, nothing changed.
    assert offers.refresh_offers(sessions) == 0
    _in(sessions, lambda s: offers.basket_changed(s, TENANT, mine))
    assert offers.refresh_offers(sessions) == 0
    assert len(_offer_events(sessions)) == 5
    # The newcomer buys a cable: its offers lose it, and the others' counts change.
    _invoice(sessions, _order(sessions, newcomer, "EUR", [_line(cable, "1")]), date(2026, 3, 5))
    assert offers.refresh_offers(sessions) >= 1
    latest = [e for e in _offer_events(sessions) if e["customer_id"] == str(newcomer)][-1]
    assert "CAB-1" not in [o["sku"] for o in latest["offers"]]
