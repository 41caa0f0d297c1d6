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


# --- bundles --------------------------------------------------------------------------------------


def test_bundle_components_must_exist_once_and_never_contain_the_bundle() -> None:
    from services.sales.products import rules as catalogue
    box, chair, table, ghost = (uuid.UUID(int=n) for n in (100, 101, 102, 103))
    known = {chair: [], table: [chair]}
    catalogue.check_components(box, [chair, table], known)
    for components, field, says in (
            ([chair, ghost], "components[1].product_id", "no product"),
            ([chair, chair], "components[1].product_id", "the same product twice"),
    ):
        with pytest.raises(InvalidInput) as refused:
            catalogue.check_components(box, components, known)
        assert refused.value.errors == [{"field": field, "message": refused.value.errors[0]["message"]}]
        assert says in refused.value.errors[0]["message"]
    # The table (already inside the box) would get the box as a component: box -> table -> box.
    with pytest.raises(InvalidInput) as cycle:
        catalogue.check_components(table, [chair, box], {chair: [], box: [chair, table], table: [chair, box]})
    assert cycle.value.errors is not None and cycle.value.errors[0]["field"] == "components[1].product_id"
    assert "contain itself" in cycle.value.errors[0]["message"]
    assert catalogue.path_back(box, table, {box: [chair, table], table: [chair, box]}) == [box, table]
    assert catalogue.path_back(chair, box, {chair: []}) is None


# --- overlap and money of price books -------------------------------------------------------------


def test_half_open_validities_overlap_only_when_they_share_a_day() -> None:
    from services.sales.price_books.rules import overlaps
    assert not overlaps(JAN, JUN, JUN, None)  # one ends the day the next begins
    assert not overlaps(JUN, None, JAN, JUN)
    assert overlaps(JAN, JUN, date(2026, 5, 31), DEC)
    assert overlaps(JAN, None, DEC, None)  # two open-ended books always meet
    assert overlaps(JUN, date(2026, 6, 2), JAN, None)
    assert not overlaps(JAN, date(2026, 2, 1), DEC, None)


def test_an_overlapping_book_is_a_conflict_naming_the_segment_and_period_fields() -> None:
    from services.sales.price_books import rules as books
    from shared.errors import Conflict
    other = books.Period(uuid.UUID(int=9), JAN, JUN)
    books.check_no_overlap(JUN, None, [other])
    with pytest.raises(Conflict) as refused:
        books.check_no_overlap(date(2026, 3, 1), None, [other])
    assert refused.value.errors is not None
    assert [e["field"] for e in refused.value.errors] == ["currency", "customer_group", "value_tier", "valid_from", "valid_to"]
    assert str(other.price_book_id) in refused.value.detail


def test_entry_prices_respect_the_book_currency_and_its_minor_units() -> None:
    from services.sales.price_books import rules as books
    product = uuid.UUID(int=5)

    def entry(amount: str, currency: str = "EUR", minimum: str = "0") -> dict[str, Any]:
        return {"product_id": product, "unit_price": {"amount": Decimal(amount), "currency": currency},
                "min_quantity": Decimal(minimum)}

    assert books.check_entries([entry("9.5")], "EUR")[0].unit_price == Decimal("9.50")
    assert books.check_entries([entry("1200", "JPY")], "JPY")[0].unit_price == Decimal("1200")
    assert books.check_entries([entry("1.125", "KWD")], "KWD")[0].unit_price == Decimal("1.125")
    for entries, currency, field in (([entry("1.5", "JPY")], "JPY", "entries[0].unit_price.amount"),
                                     ([entry("1.001")], "EUR", "entries[0].unit_price.amount"),
                                     ([entry("1.00"), entry("2.00", "USD")], "EUR", "entries[1].unit_price.currency"),
                                     ([entry("1.00"), entry("2.00")], "EUR", "entries[1]")):
        with pytest.raises(InvalidInput) as refused:
            books.check_entries(entries, currency)
        assert refused.value.errors is not None and refused.value.errors[0]["field"] == field
    assert len(books.check_entries([entry("1.00"), entry("0.90", minimum="10")], "EUR")) == 2
    with pytest.raises(InvalidInput) as backwards:
        books.check_dates(JUN, JUN)
    assert backwards.value.errors is not None and backwards.value.errors[0]["field"] == "valid_to"


# --- the catalogue's use cases --------------------------------------------------------------------


def _create_product(db: Session, sku: str, **fields: Any) -> uuid.UUID:
    from services.sales.products import service as catalogue
    from services.sales.products.schemas import ProductCreate
    return catalogue.create_product(db, TENANT, ProductCreate.model_validate({"sku": sku, "name": sku} | fields)).id


def _create_book(db: Session, entries: list[dict[str, Any]], **fields: Any) -> uuid.UUID:
    from services.sales.price_books import service as books
    from services.sales.price_books.schemas import PriceBookCreate
    body = {"name": "Book", "currency": "EUR", "valid_from": "2026-01-01", "entries": entries} | fields
    return books.create_book(db, TENANT, PriceBookCreate.model_validate(body)).book.id


def _price(product: uuid.UUID, amount: str, minimum: str = "0", currency: str = "EUR") -> dict[str, Any]:
    return {"product_id": str(product), "unit_price": {"amount": amount, "currency": currency}, "min_quantity": minimum}


def _any_version(version: int) -> None:
    return None


def test_a_sku_is_unique_per_tenant_and_a_duplicate_is_a_conflict(db: Session) -> None:
    from services.sales.products import service as catalogue
    from shared.errors import Conflict
    first = _create_product(db, "CHAIR-1", cost_price={"amount": "40.50", "currency": "EUR"}, category="Furniture/Chairs")
    with pytest.raises(Conflict) as taken:
        _create_product(db, "CHAIR-1")
    assert taken.value.errors == [{"field": "sku", "message": f"already used by product {first}"}]
    other = _create_product(db, "CHAIR-2")
    with pytest.raises(Conflict):
        catalogue.update_product(db, TENANT, other, {"sku": "CHAIR-1"}, check_version=_any_version)
    assert [(t, k) for t, k, _ in _events(db)] == [("crm.sales.product.created.v1", str(first)),
                                                 ("crm.sales.product.created.v1", str(other))]
    created = _events(db)[0][2]
    assert created["cost_price"] == {"amount": "40.50", "currency": "EUR"} and created["category"] == "Furniture/Chairs"


def test_products_list_by_category_subtree_kind_and_active(db: Session) -> None:
    from services.sales.products import service as catalogue
    from shared.http import PageRequest
    chairs = _create_product(db, "CHAIR-1", category="Furniture/Chairs")
    _create_product(db, "SOFA-1", category="Furniture_Soft")  # neither below Furniture nor a LIKE wildcard match
    setup = _create_product(db, "SETUP", kind="service", category="Furniture", active=False)

    def skus(**filters: Any) -> set[str]:
        return {p.sku for p in catalogue.list_products(db, TENANT, PageRequest(limit=50, after=None), filters)}

    assert skus(category="Furniture") == {"CHAIR-1", "SETUP"}
    assert skus(category="Furniture/Chairs") == {"CHAIR-1"}
    assert skus(kind="service") == {"SETUP"}
    assert skus(active=True) == {"CHAIR-1", "SOFA-1"}
    assert chairs and setup


def test_a_bundle_needs_existing_components_and_a_patch_cannot_make_a_cycle(db: Session) -> None:
    from services.sales.products import service as catalogue
    chair = _create_product(db, "CHAIR-1")
    table = _create_product(db, "TABLE-1")
    with pytest.raises(InvalidInput) as unknown:
        _create_product(db, "SET-0", components=[{"product_id": str(uuid.uuid4()), "quantity": "1"}])
    assert unknown.value.errors is not None and unknown.value.errors[0]["field"] == "components[0].product_id"
    dining = _create_product(db, "SET-1", components=[{"product_id": str(chair), "quantity": "4"},
                                                      {"product_id": str(table), "quantity": "1"}])
    big = _create_product(db, "SET-2", components=[{"product_id": str(dining), "quantity": "2"}])
    for bundle, components in ((dining, [{"product_id": big, "quantity": Decimal(1)}]),
                               (dining, [{"product_id": dining, "quantity": Decimal(1)}])):
        with pytest.raises(InvalidInput) as cycle:
            catalogue.update_product(db, TENANT, bundle, {"components": components}, check_version=_any_version)
        assert cycle.value.errors is not None and "contain itself" in cycle.value.errors[0]["message"]
    changed = catalogue.update_product(db, TENANT, table, {"active": False, "cost_price": None},
                                       check_version=_any_version)
    assert changed.version == 2 and not changed.active
    assert _events(db)[-1][2]["changes"] == {"active": {"old": True, "new": False}}


def test_a_book_names_the_unknown_product_and_an_overlap_for_its_segment(db: Session) -> None:
    from services.sales.price_books import service as books
    from shared.errors import Conflict
    chair = _create_product(db, "CHAIR-1")
    with pytest.raises(InvalidInput) as unknown:
        _create_book(db, [_price(chair, "10.00"), _price(uuid.uuid4(), "5.00")])
    assert unknown.value.errors is not None and unknown.value.errors[0]["field"] == "entries[1].product_id"
    first = _create_book(db, [_price(chair, "10.00")], valid_to="2026-07-01")
    # Another segment, or the day the first one ends: no overlap.
    _create_book(db, [_price(chair, "9.00")], customer_group="wholesale")
    later = _create_book(db, [_price(chair, "11.00")], valid_from="2026-07-01")
    with pytest.raises(Conflict) as overlap:
        _create_book(db, [_price(chair, "12.00")], valid_from="2026-06-30", valid_to="2026-07-02")
    assert str(first) in overlap.value.detail
    with pytest.raises(Conflict):  # a patch that stretches a book into its successor's period
        books.update_book(db, TENANT, first, {"valid_to": date(2026, 8, 1)}, check_version=_any_version)
    books.retire_book(db, TENANT, later, check_version=_any_version)
    stretched = books.update_book(db, TENANT, first, {"valid_to": date(2026, 8, 1)}, check_version=_any_version)
    assert stretched.book.version == 2 and stretched.book.valid_to == date(2026, 8, 1)
    with pytest.raises(Conflict):
        books.update_book(db, TENANT, later, {"name": "Again"}, check_version=_any_version)
    types = [t for t, _, _ in _events(db) if "price_book" in t]
    assert types == ["crm.sales.price_book.created.v1"] * 3 + ["crm.sales.price_book.updated.v1"] * 2


def test_a_book_patch_replaces_its_entries_and_a_new_currency_needs_new_prices(db: Session) -> None:
    from services.sales.price_books import service as books
    chair, table = _create_product(db, "CHAIR-1"), _create_product(db, "TABLE-1")
    book = _create_book(db, [_price(chair, "10.00"), _price(chair, "9.00", "10")])
    with pytest.raises(InvalidInput) as currency:
        books.update_book(db, TENANT, book, {"currency": "USD"}, check_version=_any_version)
    assert currency.value.errors is not None and currency.value.errors[0]["field"] == "currency"
    new_entries = [{"product_id": table, "unit_price": {"amount": Decimal("120"), "currency": "USD"},
                    "min_quantity": Decimal(0)}]
    changed = books.update_book(db, TENANT, book, {"currency": "USD", "entries": new_entries},
                                check_version=_any_version)
    assert [(e.product_id, e.unit_price) for e in changed.entries] == [(table, Decimal("120.00"))]
    assert [(e.product_id, e.unit_price) for e in books.get_book(db, TENANT, book).entries] == [
        (table, Decimal("120.0000"))]
    assert _events(db)[-1][2]["changes"] == {"currency": {"old": "EUR", "new": "USD"}, "entries": {"changed": True}}
    unchanged = books.update_book(db, TENANT, book, {"name": "Book"}, check_version=_any_version)
    assert unchanged.book.version == 2  # nothing changed: no new version, no event


def test_a_quote_prices_by_tier_volume_and_validity_for_the_replicated_customer(db: Session) -> None:
    chair, lamp = _create_product(db, "CHAIR-1"), _create_product(db, "LAMP-1")
    generic = _create_book(db, [_price(chair, "100.00"), _price(chair, "90.00", "10"), _price(lamp, "20.00")])
    tier = _create_book(db, [_price(chair, "95.00")], value_tier="A", valid_to="2026-07-01")
    lines = [LineRequest(chair, Decimal(2)), LineRequest(chair, Decimal(12)), LineRequest(lamp, Decimal("1.5"), Decimal(10))]
    june = quotes.quote(db, TENANT, customer_id=CUSTOMER, currency="EUR", lines=lines, on=JUN, may_approve=False,
                        wait_seconds=0)
    # The tier book wins for the chair at any quantity (segment first); the lamp only has the generic price.
    assert [(p.price_book_id, p.unit_price, p.line_total) for p in june.lines] == [
        (tier, Decimal("95.0000"), Decimal("190.00")), (tier, Decimal("95.0000"), Decimal("1140.00")),
        (generic, Decimal("20.0000"), Decimal("27.00"))]
    assert june.total == Decimal("1357.00")
    july = quotes.quote(db, TENANT, customer_id=CUSTOMER, currency="EUR", lines=lines[:2], on=date(2026, 7, 1),
                        may_approve=False, wait_seconds=0)
    assert [(p.price_book_id, p.unit_price) for p in july.lines] == [(generic, Decimal("100.0000")),
                                                                     (generic, Decimal("90.0000"))]
    assert "reaches the minimum of 10" in july.lines[1].reason
    with pytest.raises(InvalidInput) as unknown:
        quotes.quote(db, TENANT, customer_id=uuid.uuid4(), currency="EUR", lines=lines, on=JUN, may_approve=False,
                     wait_seconds=0)
    assert unknown.value.errors is not None and unknown.value.errors[0]["field"] == "customer_id"


def test_the_discount_threshold_is_per_tenant_and_defaults_to_ten_percent(db: Session) -> None:
    chair = _create_product(db, "CHAIR-1")
    _create_book(db, [_price(chair, "100.00")])
    assert quotes.policy(db, TENANT).discount_threshold == Decimal(10) and quotes.policy(db, TENANT).version == 0
    line = [LineRequest(chair, Decimal(1), Decimal(20))]
    with pytest.raises(Forbidden):
        quotes.quote(db, TENANT, customer_id=CUSTOMER, currency="EUR", lines=line, on=JUN, may_approve=False,
                     wait_seconds=0)
    changed = quotes.change_policy(db, TENANT, Decimal(25), check_version=_any_version)
    assert (changed.discount_threshold, changed.version) == (Decimal(25), 1)
    assert quotes.discount_threshold(db, "other-tenant") == Decimal(10)
    assert quotes.change_policy(db, TENANT, Decimal("25.00"), check_version=_any_version).version == 1  # the same
    assert [(t, d) for t, _, d in _events(db) if "pricing_policy" in t] == [
        ("crm.sales.pricing_policy.changed.v1", {"discount_threshold": "25", "previous_threshold": "10", "version": 1})]
    priced = quotes.quote(db, TENANT, customer_id=CUSTOMER, currency="EUR", lines=line, on=JUN, may_approve=False,
                          wait_seconds=0)
    assert priced.total == Decimal("80.00")


def test_a_hand_set_price_is_held_to_the_threshold_against_the_book_price() -> None:
    assert rules.effective_discount(Decimal("70"), Decimal(0), Decimal("80")) == Decimal("12.5")
    assert rules.effective_discount(Decimal("100"), Decimal("10"), Decimal("80")) == Decimal(0)  # above the book
    # 75 less 5% is 71.25: 10.9375% below 80.
    with pytest.raises(Forbidden) as refused:
        rules.check_given_price(2, Decimal("75"), Decimal("5"), Decimal("80"), Decimal("10"), may_approve=False,
                                approve_scope="sales:approve")
    assert refused.value.errors == [{"field": "lines[2].unit_price", "message": (
        "the price is 10.94% below the price book's 80, above the tenant's threshold of 10%: it needs the scope "
        "sales:approve")}]
    rules.check_given_price(2, Decimal("75"), Decimal("5"), Decimal("80"), Decimal("10"), may_approve=True,
                            approve_scope="sales:approve")
    rules.check_given_price(2, Decimal("1"), Decimal(0), None, Decimal("10"), may_approve=False,
                            approve_scope="sales:approve")  # no book prices it: only its own discount counts
