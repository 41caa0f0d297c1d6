"""Products, price books and quotes: the selection, overlap, money and bundle rules without a database,
and the use cases on a SQLite database of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.database import Base
from services.sales.price_quotes import rules
from services.sales.price_quotes import service as quotes
from services.sales.price_quotes.rules import LineRequest, Offer, Segment
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Forbidden, InvalidInput

BOOK = {name: uuid.UUID(int=n) for n, name in enumerate(("generic", "group", "tier", "both", "other", "late"), 1)}
JAN, JUN, DEC = date(2026, 1, 1), date(2026, 6, 1), date(2026, 12, 31)
WHOLESALE_A = Segment(customer_group="wholesale", value_tier="A")


def _offer(book: str, *, group: str | None = None, tier: str | None = None, price: str = "10.00",
           min_quantity: str = "0", valid_from: date = JAN, valid_to: date | None = None) -> Offer:
    return Offer(price_book_id=BOOK[book], customer_group=group, value_tier=tier, valid_from=valid_from,
                 valid_to=valid_to, min_quantity=Decimal(min_quantity), unit_price=Decimal(price))


def _chosen(offers: list[Offer], segment: Segment = WHOLESALE_A, quantity: str = "1", on: date = JUN) -> uuid.UUID | None:
    choice = rules.choose(offers, segment, Decimal(quantity), on)
    return choice.offer.price_book_id if choice else None


# --- selection ------------------------------------------------------------------------------------


def test_the_most_specific_segment_wins_group_and_tier_then_group_then_tier_then_none() -> None:
    offers = [_offer("generic"), _offer("tier", tier="A"), _offer("group", group="wholesale"),
              _offer("both", group="wholesale", tier="A")]
    assert _chosen(offers) == BOOK["both"]
    assert _chosen(offers[:3]) == BOOK["group"]
    assert _chosen(offers[:2]) == BOOK["tier"]
    assert _chosen(offers[:1]) == BOOK["generic"]


def test_a_tier_book_beats_one_naming_no_segment_and_its_reason_says_so() -> None:
    choice = rules.choose([_offer("generic", price="10.00"), _offer("tier", tier="A", price="12.00")],
                          Segment(customer_group=None, value_tier="A"), Decimal(1), JUN)
    assert choice is not None and choice.offer.price_book_id == BOOK["tier"]
    assert choice.reason.startswith("value tier A matches")
    assert "chosen over 1 other applicable price" in choice.reason


def test_a_book_naming_a_segment_the_customer_is_not_in_never_applies() -> None:
    offers = [_offer("group", group="retail"), _offer("tier", tier="B"), _offer("both", group="wholesale", tier="B")]
    assert _chosen(offers) is None
    assert _chosen(offers + [_offer("generic")]) == BOOK["generic"]
    # No customer (or an unclassified one): only books naming no segment.
    assert _chosen([_offer("group", group="wholesale"), _offer("generic")], segment=rules.NO_SEGMENT) == BOOK["generic"]


def test_validity_is_half_open_from_inclusive_to_exclusive() -> None:
    ending = [_offer("generic", valid_from=JAN, valid_to=JUN)]
    assert _chosen(ending, on=JAN) == BOOK["generic"]
    assert _chosen(ending, on=date(2026, 5, 31)) == BOOK["generic"]
    assert _chosen(ending, on=JUN) is None
    assert _chosen(ending, on=date(2025, 12, 31)) is None
    assert rules.valid_on(JAN, None, date(2099, 1, 1))


def test_the_highest_minimum_quantity_reached_wins_and_an_unreached_one_never_applies() -> None:
    offers = [_offer("generic", price="10.00"), _offer("other", price="9.00", min_quantity="10"),
              _offer("late", price="8.00", min_quantity="100")]
    assert _chosen(offers, quantity="9.5") == BOOK["generic"]
    assert _chosen(offers, quantity="10") == BOOK["other"]
    assert _chosen(offers, quantity="250") == BOOK["late"]
    assert _chosen(offers[1:], quantity="5") is None
    # The segment comes first: a group price from 1 unit beats a generic volume price.
    assert _chosen([_offer("group", group="wholesale", min_quantity="1"), offers[2]], quantity="500") == BOOK["group"]


def test_the_earliest_ending_validity_wins_and_no_end_counts_as_ending_last() -> None:
    offers = [_offer("generic", valid_to=None), _offer("other", valid_to=DEC), _offer("late", valid_to=date(2026, 7, 1))]
    assert _chosen(offers) == BOOK["late"]
    assert _chosen(offers[:2]) == BOOK["other"]
    choice = rules.choose(offers[:1], WHOLESALE_A, Decimal(1), JUN)
    assert choice is not None and "without an end" in choice.reason


def test_nothing_applies_when_no_book_prices_the_line() -> None:
    assert rules.choose([], WHOLESALE_A, Decimal(1), JUN) is None
    assert _chosen([_offer("generic", valid_from=DEC)]) is None


def test_the_segment_comes_from_the_replicated_view_profile() -> None:
    view = {"version": 4, "profile": {"customer_group": "wholesale", "value_tier": "A"}}
    assert rules.segment_of(view) == WHOLESALE_A
    assert rules.segment_of({"version": 1}) == rules.NO_SEGMENT
    assert rules.segment_of(None) == rules.NO_SEGMENT


# --- money ----------------------------------------------------------------------------------------


def test_line_totals_round_half_up_once_to_the_currency_minor_units() -> None:
    assert rules.line_total(Decimal(3), Decimal("19.99"), Decimal(0), "EUR") == Decimal("59.97")
    assert rules.line_total(Decimal(1), Decimal("0.05"), Decimal(50), "EUR") == Decimal("0.03")  # 0.025 half up
    assert rules.line_total(Decimal("2.5"), Decimal("333"), Decimal("12.5"), "JPY") == Decimal("728")  # 728.4375
    assert rules.line_total(Decimal(1), Decimal("1.005"), Decimal(0), "KWD") == Decimal("1.005")
    assert rules.line_total(Decimal("999999999.9999"), Decimal("1.01"), Decimal("0.01"), "EUR") == Decimal("1009899000.00")
    # Exact with the largest quantity and price the schema lets through (31 digits, past Decimal's default 28).
    assert rules.line_total(Decimal("999999999.9999"), Decimal("999999999999999.99"), Decimal("0.01"), "EUR") == Decimal(
        "999899999999900000001000.00")


def test_a_discount_above_the_threshold_needs_approval_and_names_the_threshold() -> None:
    rules.check_discount(0, Decimal(10), Decimal(10), may_approve=False, approve_scope="sales:approve")
    rules.check_discount(0, Decimal(30), Decimal(10), may_approve=True, approve_scope="sales:approve")
    with pytest.raises(Forbidden) as refused:
        rules.check_discount(2, Decimal("10.01"), Decimal(10), may_approve=False, approve_scope="sales:approve")
    assert refused.value.errors == [{"field": "lines[2].discount_percent", "message": (
        "a discount of 10.01% is above the tenant's threshold of 10%: it needs the scope sales:approve")}]


# --- the use cases, on a database of their own ----------------------------------------------------

TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        session.add(CustomerReplica(
            customer_id=CUSTOMER, tenant_id=TENANT, view_version=3, display_name="Ada Example", kind="person",
            view={"version": 3, "profile": {"customer_group": "wholesale", "value_tier": "A"}}, updated_at=utcnow()))
        session.flush()
        yield session
    engine.dispose()


def _events(db: Session) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _product_row(db: Session, sku: str, **fields: Any) -> uuid.UUID:
    from services.sales.products.tables import Product
    now = utcnow()
    product = Product(id=uuid.uuid4(), tenant_id=TENANT, kind="product", sku=sku, name=sku, category=None,
                      description=None, cost_amount=None, cost_currency=None, active=True, components=[], version=1,
                      created_at=now, updated_at=now)
    for name, value in fields.items():
        setattr(product, name, value)
    db.add(product)
    db.flush()
    return product.id


def _book_row(db: Session, entries: list[tuple[uuid.UUID, str, str]], *, group: str | None = None,
              tier: str | None = None, currency: str = "EUR", valid_from: date = JAN,
              valid_to: date | None = None) -> uuid.UUID:
    from services.sales.price_books.tables import PriceBook, PriceBookEntry
    now = utcnow()
    book = PriceBook(id=uuid.uuid4(), tenant_id=TENANT, name="Book", currency=currency, customer_group=group,
                     value_tier=tier, valid_from=valid_from, valid_to=valid_to, status="active", version=1,
                     created_at=now, updated_at=now, retired_at=None)
    db.add(book)
    db.flush()
    db.add_all([PriceBookEntry(price_book_id=book.id, position=i, tenant_id=TENANT, product_id=product,
                               unit_price=Decimal(price), min_quantity=Decimal(minimum))
                for i, (product, price, minimum) in enumerate(entries)])
    db.flush()
    return book.id


def test_price_lines_picks_the_segment_book_for_the_customer_and_the_generic_one_without_it(db: Session) -> None:
    chair = _product_row(db, "CHAIR-1")
    generic = _book_row(db, [(chair, "100.00", "0")])
    segment = _book_row(db, [(chair, "80.00", "0")], group="wholesale", tier="A")
    customer = db.get(CustomerReplica, CUSTOMER)
    lines = [LineRequest(product_id=chair, quantity=Decimal(3), discount_percent=Decimal(5))]
    priced = quotes.price_lines(db, TENANT, customer=customer, currency="EUR", lines=lines, on=JUN, may_approve=False)
    assert [(p.price_book_id, p.unit_price, p.line_total, p.currency) for p in priced] == [
        (segment, Decimal("80.0000"), Decimal("228.00"), "EUR")]
    assert priced[0].reason.startswith("customer group wholesale and value tier A match")
    anonymous = quotes.price_lines(db, TENANT, customer=None, currency="EUR", lines=lines, on=JUN, may_approve=False)
    assert anonymous[0].price_book_id == generic and anonymous[0].line_total == Decimal("285.00")


def test_price_lines_names_the_unknown_product_the_unpriced_line_and_the_threshold(db: Session) -> None:
    chair = _product_row(db, "CHAIR-1")
    lamp = _product_row(db, "LAMP-1")
    _book_row(db, [(chair, "100.00", "0")])
    customer = db.get(CustomerReplica, CUSTOMER)

    def price(*lines: LineRequest, may_approve: bool = False) -> list[rules.PricedLine]:
        return quotes.price_lines(db, TENANT, customer=customer, currency="EUR", lines=list(lines), on=JUN,
                                  may_approve=may_approve)

    with pytest.raises(InvalidInput) as unknown:
        price(LineRequest(chair, Decimal(1)), LineRequest(uuid.uuid4(), Decimal(1)))
    assert unknown.value.errors is not None and unknown.value.errors[0]["field"] == "lines[1].product_id"
    with pytest.raises(InvalidInput) as unpriced:
        price(LineRequest(lamp, Decimal(1)))
    assert unpriced.value.errors is not None and unpriced.value.errors[0]["field"] == "lines[0]"
    with pytest.raises(InvalidInput) as other_currency:
        quotes.price_lines(db, TENANT, customer=customer, currency="USD", lines=[LineRequest(chair, Decimal(1))],
                           on=JUN, may_approve=False)
    assert other_currency.value.errors is not None and other_currency.value.errors[0]["field"] == "lines[0]"
    with pytest.raises(Forbidden) as refused:
        price(LineRequest(chair, Decimal(1), Decimal(15)))
    assert "threshold of 10%" in refused.value.detail
    assert price(LineRequest(chair, Decimal(1), Decimal(15)), may_approve=True)[0].line_total == Decimal("85.00")
    assert _events(db) == []  # a quote is an answer: nothing published
