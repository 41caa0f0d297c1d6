"""The forecast's rules: periods, forecast categories, conversion and the one rounding. Plain Python.

What counts where (the categories are cumulative, as CRMs define a forecast):

- ``commit``: open deals whose forecast category is ``commit``;
- ``best_case``: open deals in ``best_case`` or ``commit``;
- ``pipeline``: every open deal the forecast does not omit (``pipeline``, ``best_case``, ``commit``,
  and an open deal whose stage names another category);
- ``weighted``: the sum of amount x probability / 100 over the deals of ``pipeline``;
- ``closed_won``: won deals. Closed deals are in none of the open figures, so a commit-style
  total that counts what is already won is ``commit + closed_won``.

Open deals in category ``omitted`` and lost deals count nowhere. Every deal is placed in the
period of its ``expected_close_date`` (won deals too: a forecast and its outcome then compare
in the same period); deals without one are not placed in any period but counted apart.

Each deal's amount is converted into the reporting currency at the rate that holds on its
expected close date (``exchange_rates.rules``). A deal whose currency has no rate that day is
listed under ``unconverted`` in its own currency: never guessed, never added raw. Conversion
and sums are exact decimals; each figure is rounded once, at the end, to the reporting
currency's minor units, half up.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal

from shared.errors import InvalidInput
from shared.types import minor_units

PeriodKind = Literal["month", "quarter"]
GroupBy = Literal["owner", "team", "region"]
MEASURES = ("pipeline", "best_case", "commit", "weighted", "closed_won")
# Statuses whose deals count somewhere, and the category of open deals that counts nowhere: such deals
# are left out before they are summed.
COUNTED_STATUSES = ("open", "won")
OMITTED = "omitted"
# The longest window one request may ask for, in periods of its kind (five years).
MAX_PERIODS: dict[str, int] = {"month": 60, "quarter": 20}
# Enough digits that no product or sum of the conversion is ever rounded (see ``Figures``).
EXACT_DIGITS = 100


@dataclass(frozen=True)
class Period:
    key: str  # "2026-10" or "2026-Q4"
    start: date
    end: date  # inclusive


def period_of(day: date, kind: PeriodKind) -> Period:
    if kind == "month":
        return Period(f"{day.year:04d}-{day.month:02d}", day.replace(day=1), _last_day(day.year, day.month))
    quarter = (day.month - 1) // 3
    return Period(f"{day.year:04d}-Q{quarter + 1}", date(day.year, quarter * 3 + 1, 1),
                  _last_day(day.year, quarter * 3 + 3))


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def periods_between(start: date, end: date, kind: PeriodKind) -> list[Period]:
    """The periods that overlap ``[start, end]``, in order."""
    found = [period_of(start, kind)]
    while found[-1].end < end:  # so never past date.max: end is a date
        found.append(period_of(found[-1].end + timedelta(days=1), kind))
    return found


def four_quarters_from(day: date) -> date:
    """The last day of the third quarter after ``day``'s own (or the last day there is)."""
    last = period_of(day, "quarter")
    for _ in range(3):
        if last.end == date.max:
            break
        last = period_of(last.end + timedelta(days=1), "quarter")
    return last.end


def window(start: date | None, end: date | None, kind: PeriodKind, today: date) -> tuple[date, date]:
    """The days the forecast covers.

    Without ``from``: the first day of the current quarter (of ``to``'s quarter, if that is
    earlier); without ``to``: the last day of the third quarter after ``from``'s. So with
    neither: the current quarter and the three after it.
    """
    if start is None:
        start = period_of(today if end is None or end >= today else end, "quarter").start
    if end is None:
        end = four_quarters_from(start)
    if end < start:
        raise InvalidInput.on("to", "must not be before from")
    if len(periods_between(start, end, kind)) > MAX_PERIODS[kind]:
        raise InvalidInput.on("to", f"the window may span at most {MAX_PERIODS[kind]} {kind}s")
    return start, end


def segments(start: date, end: date, kind: PeriodKind, change_days: Iterable[date]) -> list[date]:
    """The first days of the stretches of ``[start, end]`` in which period and every rate stay the same.

    Deals are summed per stretch, so one rate converts each stretch's sum exactly as it would
    convert each of its deals.
    """
    starts = {start} | {p.start for p in periods_between(start, end, kind) if p.start > start}
    return sorted(starts | {day for day in change_days if start < day <= end})


@dataclass(frozen=True, slots=True)
class Sums:
    """Deals summed in one stretch (its first day), one group, one currency, one status and category."""

    stretch: date
    group: str | None
    currency: str
    status: str
    category: str
    amount: Decimal
    weighted: Decimal  # the sum of amount x probability (in percent), not yet divided by 100
    opportunities: int


def counts_in(status: str, category: str) -> tuple[str, ...]:
    """The measures a deal of this status and forecast category counts in."""
    if status == "won":
        return ("closed_won",)
    if status != "open" or category == OMITTED:
        return ()
    if category == "commit":
        return ("pipeline", "best_case", "commit", "weighted")
    if category == "best_case":
        return ("pipeline", "best_case", "weighted")
    return ("pipeline", "weighted")


@dataclass(frozen=True)
class Unconverted:
    currency: str
    status: str
    amount: Decimal
    opportunities: int


@dataclass
class Figures:
    """One period's figures for one group, summed exactly until ``rounded``."""

    group: str | None
    exact: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(MEASURES, Decimal(0)))
    opportunities: int = 0
    unconverted: dict[tuple[str, str], tuple[Decimal, int]] = field(default_factory=dict)

    def add(self, sums: Sums, rate: Decimal | None, measures: tuple[str, ...]) -> None:
        """Count ``sums`` in ``measures`` at ``rate``, or list it as unconverted (None).

        Runs in ``forecast``'s exact context (``EXACT_DIGITS``): no product or sum here is rounded.
        """
        self.opportunities += sums.opportunities
        if rate is None:
            key = (sums.currency, sums.status)
            amount, count = self.unconverted.get(key, (Decimal(0), 0))
            self.unconverted[key] = (amount + sums.amount, count + sums.opportunities)
            return
        converted = sums.amount * rate
        for measure in measures:
            self.exact[measure] += sums.weighted * rate / 100 if measure == "weighted" else converted

    def rounded(self, currency: str) -> dict[str, Decimal]:
        """Each measure rounded to the currency's minor units: the one rounding of the forecast."""
        unit = Decimal(1).scaleb(-minor_units(currency))
        with localcontext() as exact:
            exact.prec = EXACT_DIGITS  # quantize refuses a result longer than the context's precision
            return {measure: value.quantize(unit, rounding=ROUND_HALF_UP) for measure, value in self.exact.items()}

    def unconverted_list(self) -> list[Unconverted]:
        return [Unconverted(currency, status, amount, count)
                for (currency, status), (amount, count) in sorted(self.unconverted.items())]


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    groups: list[Figures]


def forecast(sums: Iterable[Sums], *, periods: list[Period], kind: PeriodKind,
             rate_of: Callable[[str, date], Decimal | None]) -> list[PeriodFigures]:
    """Every period of the window with its groups (those with deals), each deal converted by ``rate_of``.

    ``rate_of(currency, day)`` answers what one unit of the currency is worth in the
    reporting currency on that day, or None.
    """
    by_period: dict[str, dict[str | None, Figures]] = {p.key: {} for p in periods}
    period_keys: dict[date, str] = {}
    with localcontext() as exact:
        exact.prec = EXACT_DIGITS
        for one in sums:
            measures = counts_in(one.status, one.category)
            if not measures:
                continue
            key = period_keys.get(one.stretch)
            if key is None:
                key = period_keys[one.stretch] = period_of(one.stretch, kind).key
            groups = by_period.setdefault(key, {})
            figures = groups.get(one.group)
            if figures is None:
                figures = groups[one.group] = Figures(one.group)
            figures.add(one, rate_of(one.currency, one.stretch), measures)
    return [PeriodFigures(p, sorted((f for f in by_period[p.key].values() if f.opportunities),
                                    key=lambda f: (f.group is None, f.group or "")))
            for p in periods]


# The rollup: every counted deal summed per group, segment, currency, status, category and probability.
#
# A segment is a stretch of days in which neither the month nor any of the tenant's exchange rates
# changes: it starts on the first of a month or on a day a rate starts to hold (any pair), and
# lasts until the next such day. Every stretch a forecast converts at one rate (``segments``) is
# a union of whole segments, whatever the reporting currency, so summing a segment's rows
# converts as exactly as converting each deal. A rate never changes once recorded, so segments
# only ever split (a new rate's day inside one), never merge.
DIMENSIONS: tuple[GroupBy, ...] = ("owner", "team", "region")
NO_GROUP = ""  # how the rollup keys a deal without an owner, team or region (its keys cannot be NULL)


@dataclass(frozen=True, slots=True)
class Deal:
    """What the rollup knows of one deal."""

    owner: str | None
    team: str | None
    region: str | None
    currency: str
    status: str
    category: str
    probability: int
    amount: Decimal
    close_date: date | None


@dataclass(frozen=True, slots=True, order=True)
class RollupKey:
    dimension: str
    group: str
    segment: date
    currency: str
    status: str
    category: str
    probability: int


def _first_of_month(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    if day.month < 12:
        return date(day.year, day.month + 1, 1)
    # The last month there is ends the calendar: its one segment runs to the end of time.
    return date(day.year + 1, 1, 1) if day.year < date.max.year else date.max


def segment_of(day: date, rate_days: list[date]) -> date:
    """The first day of the segment ``day`` is in; ``rate_days`` sorted."""
    start = _first_of_month(day)
    at = bisect_right(rate_days, day)
    return max(start, rate_days[at - 1]) if at else start


def segment_end(start: date, rate_days: list[date]) -> date:
    """The first day after the segment that starts on ``start`` (the next segment's first day)."""
    following = _next_month(start)
    at = bisect_right(rate_days, start)
    return min(following, rate_days[at]) if at < len(rate_days) else following


def is_segment_start(day: date, rate_days: list[date]) -> bool:
    return segment_of(day, rate_days) == day


def whole_segments(start: date, end: date, rate_days: list[date]) -> tuple[date, date] | None:
    """The days ``[first, after)`` of the segments lying wholly inside ``[start, end]``; None: not one does.

    The rest of the window, a part-segment at either edge, is summed from the deals themselves.
    """
    first = start if is_segment_start(start, rate_days) else segment_end(segment_of(start, rate_days), rate_days)
    after = end + timedelta(days=1)
    last = after if is_segment_start(after, rate_days) else segment_of(end, rate_days)
    return (first, last) if first < last else None


def contributions(deal: Deal | None, rate_days: list[date]) -> dict[RollupKey, tuple[Decimal, int]]:
    """The rows of the rollup ``deal`` adds to: one per dimension (nothing for a deal that counts nowhere)."""
    if deal is None or deal.close_date is None or not counted(deal):
        return {}
    segment = segment_of(deal.close_date, rate_days)
    return {RollupKey(dimension, group or NO_GROUP, segment, deal.currency, deal.status, deal.category,
                      deal.probability): (deal.amount, 1)
            for dimension, group in (("owner", deal.owner), ("team", deal.team), ("region", deal.region))}


def counted(deal: Deal | None) -> bool:
    """Whether the deal has rows in the rollup: dated, and counted in some measure."""
    return deal is not None and deal.close_date is not None and bool(counts_in(deal.status, deal.category))


def merged(changed: Iterable[tuple[RollupKey, Decimal, int]]) -> list[tuple[RollupKey, Decimal, int]]:
    """Several deals' changes as one per row, in key order (rows left as they were are not named)."""
    delta: dict[RollupKey, tuple[Decimal, int]] = {}
    for key, amount, n in changed:
        old_amount, old_n = delta.get(key, (Decimal(0), 0))
        delta[key] = (old_amount + amount, old_n + n)
    return [(key, amount, n) for key, (amount, n) in sorted(delta.items()) if n or amount]


def changes(before: Deal | None, after: Deal | None, rate_days: list[date]) -> list[tuple[RollupKey, Decimal, int]]:
    """What a deal's change adds to each row of the rollup (negative: takes away), in key order.

    Rows the change leaves as they were are not named; the order is the same in every
    transaction, so two changes touching the same rows lock them in the same order.
    """
    taken = [(key, -amount, -n) for key, (amount, n) in contributions(before, rate_days).items()]
    added = [(key, amount, n) for key, (amount, n) in contributions(after, rate_days).items()]
    return merged(taken + added)


def summed(deals: Iterable[Deal], rate_days: list[date]) -> dict[RollupKey, tuple[Decimal, int]]:
    """The rollup rows of many deals (a tenant's, or one segment's), built from scratch."""
    rows: dict[RollupKey, tuple[Decimal, int]] = {}
    for deal in deals:
        for key, (amount, n) in contributions(deal, rate_days).items():
            old_amount, old_n = rows.get(key, (Decimal(0), 0))
            rows[key] = (old_amount + amount, old_n + n)
    return rows
