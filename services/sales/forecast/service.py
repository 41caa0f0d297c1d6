"""The forecast use case: sum the deals in SQL, convert each stretch's sums at its dated rate, round once.

Reads only; it never writes and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from services.sales.exchange_rates import service as exchange_rates
from services.sales.forecast import repository, rules


@dataclass(frozen=True)
class Forecast:
    currency: str
    period: rules.PeriodKind
    group_by: rules.GroupBy
    start: date
    end: date
    periods: list[rules.PeriodFigures]
    undated: list[tuple[str | None, int]]


def forecast(session: Session, tenant: str, *, period: rules.PeriodKind, currency: str, group_by: rules.GroupBy,
             start: date | None, end: date | None, today: date) -> Forecast:
    start, end = rules.window(start, end, period, today)
    # Every rate into or out of the reporting currency up to the window's end: a tenant keeps few,
    # and the stretches need each day one of them starts to hold.
    book = exchange_rates.rate_book(session, tenant, currency, until=end)
    # Each currency's deals are summed per stretch of its own rates: a deal in the reporting currency
    # (or one without any rate) only per period.
    stretches = {other: rules.segments(start, end, period, book.change_days(start, end, (other, currency)))
                 for other in book.currencies_quoted_with(currency)}
    sums = repository.summed_deals(session, tenant, group_by=group_by, stretches=stretches,
                                   otherwise=rules.segments(start, end, period, []), until=end)
    known: dict[tuple[str, date], Decimal | None] = {}

    def rate_of(deal_currency: str, day: date) -> Decimal | None:
        key = (deal_currency, day)
        if key not in known:
            known[key] = book.rate_on(deal_currency, currency, day)
        return known[key]

    periods = rules.forecast(sums, periods=rules.periods_between(start, end, period), kind=period, rate_of=rate_of)
    return Forecast(currency, period, group_by, start, end, periods, _undated(session, tenant, group_by))


def _undated(session: Session, tenant: str, group_by: rules.GroupBy) -> list[tuple[str | None, int]]:
    counted: dict[str | None, int] = {}
    for group, status, category, n in repository.undated_deals(session, tenant, group_by=group_by):
        if rules.counts_in(status, category):
            counted[group] = counted.get(group, 0) + n
    return sorted(counted.items(), key=lambda item: (item[0] is None, item[0] or ""))
