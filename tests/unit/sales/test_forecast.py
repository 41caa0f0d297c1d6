"""The forecast: periods, categories, conversion and rounding (rules, no database), and the use case on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.database import Base
from services.sales.exchange_rates import service as exchange_rates
from services.sales.exchange_rates.rules import Rate, RateBook
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from services.sales.forecast import rules, service
from services.sales.forecast.rules import Sums
from services.sales.opportunities.tables import Opportunity
from shared.db import PLATFORM_METADATA, make_engine, make_sessions, utcnow
from shared.errors import InvalidInput

Q1 = date(2026, 1, 1)


def test_periods_are_calendar_months_and_quarters() -> None:
    q4 = rules.Period("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert rules.period_of(date(2026, 11, 30), "quarter") == q4
    assert rules.period_of(date(2024, 2, 10), "month") == rules.Period("2024-02", date(2024, 2, 1), date(2024, 2, 29))
    assert [p.key for p in rules.periods_between(date(2026, 11, 15), date(2027, 2, 1), "month")] == [
        "2026-11", "2026-12", "2027-01", "2027-02"]


def test_the_default_window_is_the_current_quarter_and_the_three_after_it() -> None:
    assert rules.window(None, None, "month", date(2026, 12, 2)) == (date(2026, 10, 1), date(2027, 9, 30))
    assert rules.window(date(2026, 1, 5), None, "quarter", date(2026, 12, 2)) == (date(2026, 1, 5), date(2026, 12, 31))
    assert rules.window(None, date(2026, 2, 1), "quarter", date(2026, 12, 2)) == (date(2026, 1, 1), date(2026, 2, 1))
    assert rules.window(date(9999, 12, 1), None, "month", date(2026, 12, 2)) == (date(9999, 12, 1), date.max)
    with pytest.raises(InvalidInput) as backwards:
        rules.window(date(2026, 2, 1), date(2026, 1, 1), "month", date(2026, 12, 2))
    assert backwards.value.errors and backwards.value.errors[0]["field"] == "to"
    with pytest.raises(InvalidInput):
        rules.window(date(2020, 1, 1), date(2026, 1, 1), "quarter", date(2026, 12, 2))


def test_stretches_split_the_window_at_period_starts_and_rate_changes() -> None:
    assert rules.segments(date(2026, 1, 10), date(2026, 6, 30), "quarter", [date(2026, 2, 15), date(2027, 1, 1)]) == [
        date(2026, 1, 10), date(2026, 2, 15), date(2026, 4, 1)]


@pytest.mark.parametrize(("status", "category", "measures"), [
    ("open", "commit", ("pipeline", "best_case", "commit", "weighted")),
    ("open", "best_case", ("pipeline", "best_case", "weighted")),
    ("open", "pipeline", ("pipeline", "weighted")),
    ("open", "closed", ("pipeline", "weighted")),
    ("open", "omitted", ()),
    ("won", "closed", ("closed_won",)),
    ("lost", "closed", ()),
])
def test_categories_are_cumulative_and_closed_deals_count_only_as_won(status: str, category: str,
                                                                      measures: tuple[str, ...]) -> None:
    assert rules.counts_in(status, category) == measures


def _sums(day: date, currency: str, amount: str, *, status: str = "open", category: str = "commit",
          probability: int = 50, group: str | None = "ada", n: int = 1) -> Sums:
    return Sums(day, group, currency, status, category, Decimal(amount), Decimal(amount) * probability, n)


def _run(sums: list[Sums], rates: list[Rate], currency: str = "EUR", kind: rules.PeriodKind = "quarter",
         start: date = Q1, end: date = date(2026, 6, 30)) -> list[rules.PeriodFigures]:
    book = RateBook(rates)
    return rules.forecast(sums, periods=rules.periods_between(start, end, kind), kind=kind,
                          rate_of=lambda c, day: book.rate_on(c, currency, day))


def test_each_deal_is_converted_at_the_rate_of_its_close_date_across_a_mid_quarter_change() -> None:
    rates = [Rate("USD", "EUR", Decimal("0.90"), Q1), Rate("USD", "EUR", Decimal("0.80"), date(2026, 2, 15))]
    first, second = _run([_sums(date(2026, 1, 1), "USD", "100"), _sums(date(2026, 2, 15), "USD", "100"),
                          _sums(date(2026, 1, 1), "EUR", "5", status="won", category="closed")], rates)
    assert [p.period.key for p in (first, second)] == ["2026-Q1", "2026-Q2"]
    (ada,) = first.groups
    assert ada.rounded("EUR") == {"pipeline": Decimal("170.00"), "best_case": Decimal("170.00"),
                                  "commit": Decimal("170.00"), "weighted": Decimal("85.00"),
                                  "closed_won": Decimal("5.00")}
    assert ada.opportunities == 3 and not ada.unconverted_list()
    assert second.groups == []


def test_deals_without_a_rate_are_listed_in_their_currency_and_never_added() -> None:
    rates = [Rate("EUR", "GBP", Decimal("0.85"), Q1)]
    (quarter, _) = _run([_sums(Q1, "GBP", "85"), _sums(Q1, "CHF", "10", n=2), _sums(Q1, "CHF", "7", status="won"),
                         _sums(Q1, "CHF", "1000", category="omitted")], rates)
    (ada,) = quarter.groups
    # 85 GBP at 1 / 0.85: exactly 100 EUR once rounded.
    assert ada.rounded("EUR")["pipeline"] == Decimal("100.00")
    assert ada.rounded("EUR")["closed_won"] == Decimal("0.00")
    assert [(u.currency, u.status, u.amount, u.opportunities) for u in ada.unconverted_list()] == [
        ("CHF", "open", Decimal("10"), 2), ("CHF", "won", Decimal("7"), 1)]
    assert ada.opportunities == 4  # the omitted deal counts nowhere


def test_the_total_is_rounded_once_not_deal_by_deal() -> None:
    rate = Rate("USD", "EUR", Decimal("0.92345"), Q1)
    days = (date(2026, 1, 5), date(2026, 2, 5), date(2026, 3, 5))
    (quarter, _) = _run([_sums(day, "USD", "10.00", category="pipeline", probability=10) for day in days], [rate])
    (ada,) = quarter.groups
    # Each deal is 9.2345 EUR (9.23 if rounded alone, 27.69 for three); the three together are 27.7035.
    assert ada.rounded("EUR")["pipeline"] == Decimal("27.70")
    assert ada.rounded("EUR")["weighted"] == Decimal("2.77")
    assert ada.rounded("EUR")["commit"] == Decimal("0.00")


def test_the_reporting_currency_decides_the_minor_units_and_groups_are_kept_apart() -> None:
    rates = [Rate("EUR", "JPY", Decimal("161.5"), Q1)]
    (quarter, _) = _run([_sums(Q1, "EUR", "10.01", group="bob"), _sums(Q1, "EUR", "1", group=None),
                         _sums(Q1, "JPY", "100", group="ada", category="best_case")], rates, currency="JPY")
    assert [(g.group, g.rounded("JPY")["pipeline"], g.rounded("JPY")["best_case"]) for g in quarter.groups] == [
        ("ada", Decimal("100"), Decimal("100")), ("bob", Decimal("1617"), Decimal("1617")),
        (None, Decimal("162"), Decimal("162"))]


# --- the use case, on a database of its own --------------------------------------------------

TENANT = "acme"
NORTH, SOUTH, NOWHERE = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        for customer_id, region in ((NORTH, "North"), (SOUTH, "South"), (NOWHERE, None)):
            session.add(CustomerReplica(customer_id=customer_id, tenant_id=TENANT, view_version=1,
                                        display_name="Example", kind="organization",
                                        view={"version": 1, "profile": {"region": region, "country": "DE"}},
                                        updated_at=utcnow()))
        session.flush()
        yield session
    engine.dispose()


def _deal(db: Session, amount: str, currency: str, closes: date | None, *, owner: str | None = "ada",
          team: str | None = "east", customer: uuid.UUID = NORTH, status: str = "open", category: str = "commit",
          probability: int = 50, tenant: str = TENANT) -> None:
    now = utcnow()
    fields: dict[str, Any] = {
        "id": uuid.uuid4(), "tenant_id": tenant, "customer_id": customer, "name": "Deal", "amount": Decimal(amount),
        "currency": currency, "stage": "negotiation", "status": status, "forecast_category": category,
        "probability": probability, "owner": owner, "team": team, "expected_close_date": closes, "version": 1,
        "created_at": now, "updated_at": now}
    db.add(Opportunity(**fields))


def _rate(db: Session, base: str, quote: str, rate: str, day: date) -> None:
    exchange_rates.create_rate(db, TENANT, ExchangeRateCreate(base=base, quote=quote, rate=rate, valid_from=day))


def _figures(found: service.Forecast, period: str) -> dict[str | None, dict[str, Any]]:
    (matching,) = [p for p in found.periods if p.period.key == period]
    return {g.group: g.rounded(found.currency) | {"n": g.opportunities,
                                                  "unconverted": [(u.currency, u.status, u.amount, u.opportunities)
                                                                  for u in g.unconverted_list()]}
            for g in matching.groups}


@pytest.fixture()
def deals(db: Session) -> Session:
    _rate(db, "USD", "EUR", "0.9", date(2025, 12, 1))
    _rate(db, "USD", "EUR", "0.8", date(2026, 2, 15))
    _rate(db, "EUR", "GBP", "0.85", date(2025, 1, 1))
    _deal(db, "100", "USD", date(2026, 2, 14))
    _deal(db, "100", "USD", date(2026, 2, 15), category="best_case", owner="bob", customer=SOUTH)
    _deal(db, "85", "GBP", date(2026, 3, 31), category="pipeline", probability=20, team=None, customer=NOWHERE)
    _deal(db, "50", "EUR", date(2026, 1, 10), status="won", category="closed", probability=100)
    _deal(db, "999", "EUR", date(2026, 1, 10), status="lost", category="closed", probability=0)
    _deal(db, "999", "EUR", date(2026, 1, 10), category="omitted")
    _deal(db, "30", "CHF", date(2026, 2, 1), owner="bob")
    _deal(db, "10", "EUR", None)
    _deal(db, "10", "EUR", None, status="lost", category="closed")
    _deal(db, "70", "EUR", date(2026, 5, 1))
    _deal(db, "5000", "EUR", date(2026, 1, 10), tenant="other")
    db.flush()
    return db


def test_forecast_by_owner_converts_at_dated_rates_and_lists_what_it_cannot(deals: Session) -> None:
    found = service.forecast(deals, TENANT, period="quarter", currency="EUR", group_by="owner", start=Q1,
                             end=date(2026, 6, 30), today=date(2026, 12, 2))
    q1 = _figures(found, "2026-Q1")
    assert q1["ada"] == {"pipeline": Decimal("190.00"), "best_case": Decimal("90.00"), "commit": Decimal("90.00"),
                         "weighted": Decimal("65.00"), "closed_won": Decimal("50.00"), "n": 3, "unconverted": []}
    assert q1["bob"] == {"pipeline": Decimal("80.00"), "best_case": Decimal("80.00"), "commit": Decimal("0.00"),
                         "weighted": Decimal("40.00"), "closed_won": Decimal("0.00"), "n": 2,
                         "unconverted": [("CHF", "open", Decimal("30"), 1)]}
    assert _figures(found, "2026-Q2")["ada"]["pipeline"] == Decimal("70.00")
    assert found.undated == [("ada", 1)]


def test_forecast_in_another_currency_and_by_month(deals: Session) -> None:
    found = service.forecast(deals, TENANT, period="month", currency="USD", group_by="team", start=Q1,
                             end=date(2026, 3, 31), today=date(2026, 12, 2))
    assert [p.period.key for p in found.periods] == ["2026-01", "2026-02", "2026-03"]
    february = _figures(found, "2026-02")["east"]
    # 100 USD + 100 USD, both in USD already; the CHF deal has no rate into USD either.
    assert february["pipeline"] == Decimal("200.00") and february["unconverted"] == [("CHF", "open", Decimal("30"), 1)]
    january = _figures(found, "2026-01")["east"]
    # 50 EUR won in January, at 1 / 0.9 USD per EUR.
    assert january["closed_won"] == Decimal("55.56")
    # GBP has no rate into USD (no cross rates): listed.
    assert _figures(found, "2026-03")[None]["unconverted"] == [("GBP", "open", Decimal("85"), 1)]


def test_forecast_by_region_groups_by_the_region_the_customers_view_states(deals: Session) -> None:
    found = service.forecast(deals, TENANT, period="quarter", currency="EUR", group_by="region", start=Q1,
                             end=date(2026, 3, 31), today=date(2026, 12, 2))
    q1 = _figures(found, "2026-Q1")
    assert set(q1) == {"North", "South", None}
    assert q1["South"]["pipeline"] == Decimal("80.00")
    assert q1[None]["pipeline"] == Decimal("100.00")  # 85 GBP of a customer whose view names no region
    assert q1["North"]["closed_won"] == Decimal("50.00")
    assert found.undated == [("North", 1)]


RATE_DAYS = [date(2025, 12, 15), date(2026, 2, 15), date(2026, 2, 20)]


def test_segments_start_on_the_first_of_each_month_and_on_every_rate_day() -> None:
    assert rules.segment_of(date(2026, 2, 14), RATE_DAYS) == date(2026, 2, 1)
    assert rules.segment_of(date(2026, 2, 15), RATE_DAYS) == date(2026, 2, 15)
    assert rules.segment_of(date(2026, 2, 28), RATE_DAYS) == date(2026, 2, 20)
    assert rules.segment_of(date(2026, 3, 2), RATE_DAYS) == date(2026, 3, 1)  # a month start ends a rate's segment
    assert rules.segment_of(date(2025, 12, 1), RATE_DAYS) == date(2025, 12, 1)
    assert rules.segment_end(date(2026, 2, 1), RATE_DAYS) == date(2026, 2, 15)
    assert rules.segment_end(date(2026, 2, 20), RATE_DAYS) == date(2026, 3, 1)
    assert rules.segment_end(date(9999, 12, 1), []) == date.max


def test_only_whole_segments_of_a_window_are_read_from_the_rollup() -> None:
    assert rules.whole_segments(date(2026, 1, 1), date(2026, 3, 31), RATE_DAYS) == (date(2026, 1, 1), date(2026, 4, 1))
    # Mid-segment edges are left to the deals: 2026-02-10..14 and 2026-03-01..10.
    assert rules.whole_segments(date(2026, 2, 10), date(2026, 3, 10), RATE_DAYS) == (date(2026, 2, 15), date(2026, 3, 1))
    assert rules.whole_segments(date(2026, 2, 2), date(2026, 2, 10), RATE_DAYS) is None


def _rolled(**changed: Any) -> rules.Deal:
    fields: dict[str, Any] = {"owner": "ada", "team": "east", "region": "North", "currency": "EUR", "status": "open",
                              "category": "commit", "probability": 75, "amount": Decimal("100"),
                              "close_date": date(2026, 2, 16)}
    return rules.Deal(**(fields | changed))


def test_a_change_takes_a_deal_out_of_its_rows_and_adds_it_to_its_new_ones() -> None:
    segment = date(2026, 2, 15)
    opened = rules.changes(None, _rolled(), RATE_DAYS)
    assert [(k.dimension, k.group, k.segment, amount, n) for k, amount, n in opened] == [
        ("owner", "ada", segment, Decimal("100"), 1), ("region", "North", segment, Decimal("100"), 1),
        ("team", "east", segment, Decimal("100"), 1)]
    # A new owner moves one row; the others only see the new amount.
    moved = rules.changes(_rolled(), _rolled(owner="bob", amount=Decimal("120")), RATE_DAYS)
    assert [(k.dimension, k.group, amount, n) for k, amount, n in moved] == [
        ("owner", "ada", Decimal("-100"), -1), ("owner", "bob", Decimal("120"), 1), ("region", "North", Decimal("20"), 0),
        ("team", "east", Decimal("20"), 0)]
    assert rules.changes(_rolled(), _rolled(), RATE_DAYS) == []  # e.g. a new name: no row changes
    assert rules.changes(_rolled(category="omitted"), _rolled(status="lost", category="closed"), RATE_DAYS) == []
    lost = rules.changes(_rolled(team=None), _rolled(status="lost", category="closed", team=None), RATE_DAYS)
    assert {(k.dimension, k.group, n) for k, _, n in lost} == {("owner", "ada", -1), ("team", rules.NO_GROUP, -1),
                                                              ("region", "North", -1)}


def test_a_rollup_summed_from_scratch_adds_deals_of_one_row() -> None:
    rows = rules.summed([_rolled(), _rolled(amount=Decimal("0.5")), _rolled(close_date=None)], RATE_DAYS)
    assert len(rows) == 3 and set(rows.values()) == {(Decimal("100.5"), 2)}
