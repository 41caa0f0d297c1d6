"""Exchange rates: which rate holds on a day (rules, no database), and recording rates on a database of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.database import Base
from services.sales.exchange_rates import rules, service
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest


def _book(*rates: tuple[str, str, str, date]) -> rules.RateBook:
    return rules.RateBook(rules.Rate(base, quote, Decimal(rate), day) for base, quote, rate, day in rates)


def test_a_rate_holds_from_its_day_until_the_pairs_next_rate() -> None:
    book = _book(("USD", "EUR", "0.90", date(2026, 1, 1)), ("USD", "EUR", "0.80", date(2026, 2, 15)))
    assert book.rate_on("USD", "EUR", date(2025, 12, 31)) is None
    assert book.rate_on("USD", "EUR", date(2026, 1, 1)) == Decimal("0.90")
    assert book.rate_on("USD", "EUR", date(2026, 2, 14)) == Decimal("0.90")
    assert book.rate_on("USD", "EUR", date(2026, 2, 15)) == Decimal("0.80")
    assert book.rate_on("USD", "EUR", date(2030, 1, 1)) == Decimal("0.80")
    assert book.rate_on("EUR", "EUR", date(2000, 1, 1)) == Decimal(1)


def test_the_inverse_pair_converts_as_one_over_its_rate_exactly_enough() -> None:
    book = _book(("EUR", "GBP", "0.85", date(2026, 1, 1)))
    inverse = book.rate_on("GBP", "EUR", date(2026, 3, 1))
    assert inverse is not None
    assert len(inverse.as_tuple().digits) >= 28
    # 85 GBP are 100 EUR: the inverse is kept to far more digits than cents need.
    assert (Decimal(85) * inverse).quantize(Decimal("0.01")) == Decimal("100.00")
    assert book.rate_on("GBP", "USD", date(2026, 3, 1)) is None  # no cross rates through a third currency


def test_the_newest_rate_of_a_pair_or_its_inverse_holds_and_the_direct_one_on_the_same_day() -> None:
    book = _book(("EUR", "USD", "1.10", date(2026, 1, 1)), ("USD", "EUR", "0.80", date(2026, 2, 1)),
                 ("EUR", "USD", "1.20", date(2026, 3, 1)), ("USD", "EUR", "0.50", date(2026, 3, 1)))
    assert book.rate_on("EUR", "USD", date(2026, 1, 20)) == Decimal("1.10")
    assert book.rate_on("EUR", "USD", date(2026, 2, 10)) == Decimal(1) / Decimal("0.80")
    assert book.rate_on("EUR", "USD", date(2026, 3, 5)) == Decimal("1.20")
    assert book.rate_on("USD", "EUR", date(2026, 3, 5)) == Decimal("0.50")
    assert book.change_days(date(2026, 1, 1), date(2026, 3, 1)) == [date(2026, 2, 1), date(2026, 3, 1)]


@pytest.mark.parametrize("text", ["1", "0.5", "1.0842", "0.0000000001", "123456789012", "17250.1234567891"])
def test_positive_rates_with_at_most_ten_decimals_are_taken(text: str) -> None:
    assert rules.check_rate(text) == Decimal(text)
    assert re.match(rules.RATE_PATTERN, text)


@pytest.mark.parametrize("text", ["0", "0.0", "0.00000000001", "1.12345678901", "-1", "1e3", "01", "1.", " 1",
                                  "1234567890123"])
def test_zero_negative_and_overlong_rates_are_refused_as_the_schema_refuses_them(text: str) -> None:
    with pytest.raises(InvalidInput):
        rules.check_rate(text)
    assert not re.match(rules.RATE_PATTERN, text)


def test_a_pair_needs_two_currencies() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_pair("EUR", "EUR")
    assert refused.value.errors == [{"field": "quote", "message": "must differ from base"}]


def test_stored_rates_are_shown_without_padding() -> None:
    assert rules.rate_text(Decimal("1.0842000000")) == "1.0842"
    assert rules.rate_text(Decimal("100.0000000000")) == "100"


# --- the use cases, on a database of their own ---------------------------------------------

TENANT = "acme"


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        yield session
    engine.dispose()


def _rate(base: str, quote: str, rate: str, day: date) -> ExchangeRateCreate:
    return ExchangeRateCreate(base=base, quote=quote, rate=rate, valid_from=day)


def test_a_recorded_rate_is_published_listed_and_used_by_rate_on(db: Session) -> None:
    first = service.create_rate(db, TENANT, _rate("USD", "EUR", "0.9", date(2026, 1, 1)))
    service.create_rate(db, TENANT, _rate("USD", "EUR", "0.8", date(2026, 2, 15)))
    service.create_rate(db, TENANT, _rate("EUR", "GBP", "0.85", date(2026, 1, 1)))
    service.create_rate(db, "other", _rate("USD", "EUR", "5", date(2026, 1, 1)))
    events = list(db.scalars(select(OutboxRecord).where(OutboxRecord.tenant_id == TENANT)
                             .order_by(OutboxRecord.sequence)))
    assert [e.type for e in events] == [contract.EXCHANGE_RATE_CREATED.name] * 3
    assert events[0].data == {"rate_id": str(first.id), "base": "USD", "quote": "EUR", "rate": "0.9",
                              "valid_from": "2026-01-01"}
    assert events[0].key == str(first.id)
    assert service.rate_on(db, TENANT, "USD", "EUR", date(2026, 2, 14)) == Decimal("0.9")
    assert service.rate_on(db, TENANT, "USD", "EUR", date(2026, 2, 15)) == Decimal("0.8")
    with localcontext() as exact:
        exact.prec = rules.INVERSE_DIGITS
        assert service.rate_on(db, TENANT, "GBP", "EUR", date(2026, 2, 1)) == Decimal(1) / Decimal("0.85")
    assert service.rate_on(db, TENANT, "CHF", "EUR", date(2026, 2, 1)) is None
    page = PageRequest(limit=50, after=None)
    assert len(service.list_rates(db, TENANT, page, {"base": "USD", "quote": None})) == 2
    assert [r.base for r in service.list_rates(db, TENANT, page, {"base": None, "quote": "GBP"})] == ["EUR"]
    assert service.get_rate(db, TENANT, first.id).rate == Decimal("0.9")
    with pytest.raises(NotFound):
        service.get_rate(db, "other", first.id)


def test_a_second_rate_for_the_same_pair_and_day_is_a_conflict_and_writes_nothing(db: Session) -> None:
    service.create_rate(db, TENANT, _rate("USD", "EUR", "0.9", date(2026, 1, 1)))
    with pytest.raises(Conflict):
        service.create_rate(db, TENANT, _rate("USD", "EUR", "0.95", date(2026, 1, 1)))
    with pytest.raises(InvalidInput):
        service.create_rate(db, TENANT, _rate("EUR", "EUR", "1", date(2026, 1, 1)))
    assert db.scalar(select(OutboxRecord.sequence).order_by(OutboxRecord.sequence.desc())) == 1
    assert service.rate_on(db, TENANT, "USD", "EUR", date(2026, 1, 1)) == Decimal("0.9")
