"""The rules of receivables ageing, on fixed dates, without a database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.sales.receivables import rules
from shared.errors import InvalidInput

AS_OF = date(2026, 3, 31)


def _bucket_by_dates(due_on: date, as_of: date) -> str:
    """The bucket as the database sorts an invoice: the first bucket whose earliest due date it reaches."""
    for name, since in rules.due_since(as_of):
        if due_on >= since:
            return name
    return "over_90"


@pytest.mark.parametrize(("days_before", "bucket"), [
    (-10, "current"), (0, "current"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (60, "31_60"), (61, "61_90"),
    (90, "61_90"), (91, "over_90"), (400, "over_90")])
def test_an_invoice_due_that_many_days_before_the_as_of_day_falls_in_its_bucket(days_before: int, bucket: str) -> None:
    due_on = AS_OF - timedelta(days=days_before)
    assert rules.days_past_due(due_on, AS_OF) == days_before
    assert rules.bucket_of(rules.days_past_due(due_on, AS_OF)) == bucket
    assert _bucket_by_dates(due_on, AS_OF) == bucket


def test_bucket_bounds_on_fixed_calendar_dates_across_a_leap_day() -> None:
    as_of = date(2024, 3, 31)  # 2024-02-29 lies inside the second bucket
    assert rules.due_since(as_of) == [("current", date(2024, 3, 31)), ("1_30", date(2024, 3, 1)),
                                      ("31_60", date(2024, 1, 31)), ("61_90", date(2024, 1, 1))]
    assert _bucket_by_dates(date(2024, 3, 1), as_of) == "1_30"      # 30 days
    assert _bucket_by_dates(date(2024, 2, 29), as_of) == "31_60"    # 31 days
    assert _bucket_by_dates(date(2023, 12, 31), as_of) == "over_90"  # 91 days


def test_the_database_bounds_and_the_day_count_agree_on_every_day() -> None:
    for days in range(-5, 200):
        due_on = AS_OF - timedelta(days=days)
        assert _bucket_by_dates(due_on, AS_OF) == rules.bucket_of(days), days


def test_an_as_of_day_too_early_for_the_buckets_is_refused_naming_as_of() -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_as_of(date(1, 1, 1))
    assert refused.value.errors is not None and refused.value.errors[0]["field"] == "as_of"
    rules.check_as_of(rules.EARLIEST_AS_OF)


def _rows() -> list[rules.Row]:
    return [rules.Row("ann", "EUR", "current", Decimal("100.0000"), 1),
            rules.Row("ann", "EUR", "over_90", Decimal("50.0000"), 1),
            rules.Row("ann", "USD", "1_30", Decimal("10.0050"), 2),
            rules.Row(None, "CHF", "31_60", Decimal("40.0000"), 1),
            rules.Row("bob", "EUR", "61_90", Decimal("5.0000"), 1)]


def test_currencies_are_kept_apart_and_converted_at_the_rate_or_named_unconverted() -> None:
    rates = {"EUR": Decimal(1), "USD": Decimal("0.8")}
    report = rules.report(_rows(), "EUR", rates.get)
    assert [g.group for g in report.groups] == ["ann", "bob", None]  # no group last
    ann = report.groups[0]
    assert sorted(ann.by_currency) == ["EUR", "USD"]
    assert (ann.by_currency["EUR"].total, ann.by_currency["USD"].amounts["1_30"]) == (Decimal(150), Decimal("10.005"))
    assert ann.invoices == 4
    assert ann.converted is not None
    # 10.005 USD x 0.8 = 8.004, rounded to cents; the buckets add up to the total.
    assert ann.converted.amounts == {"current": Decimal("100"), "1_30": Decimal("8.00"), "31_60": Decimal(0),
                                     "61_90": Decimal(0), "over_90": Decimal("50")}
    assert ann.converted.total == Decimal("158.00") and ann.unconverted == []
    nobody = report.groups[2]
    assert nobody.converted is not None and nobody.converted.total == 0 and nobody.unconverted == ["CHF"]
    totals = report.totals
    assert {code: a.total for code, a in totals.by_currency.items()} == {
        "EUR": Decimal(155), "USD": Decimal("10.005"), "CHF": Decimal(40)}
    assert totals.converted is not None and totals.converted.total == Decimal("163.00")
    assert totals.converted.invoices == 5 and totals.invoices == 6  # the CHF invoice is not converted
    assert totals.unconverted == ["CHF"]


def test_nothing_owed_is_an_empty_report() -> None:
    report = rules.report([], "EUR", lambda _: Decimal(1))
    assert report.groups == [] and report.totals.by_currency == {}
    assert report.totals.converted is not None and report.totals.converted.total == 0
