"""The rules of receivables ageing. Plain Python.

**Days past due** on the as-of day are ``as_of - due_on``: an invoice due on the as-of day
itself is 0 days past due, so ``current`` (not yet late); due the day before, 1. Buckets:
``current`` (0 or less), ``1_30``, ``31_60``, ``61_90``, ``over_90`` (91 and more), both
bounds inclusive. ``due_since`` gives the same buckets as the earliest due date each one
takes, so the database sorts invoices into them by comparing dates (no date arithmetic
that SQLite and PostgreSQL spell differently); a unit test holds the two against each other.

**Money** stays in the currency each invoice was issued in: a bucket per currency, never
summed across currencies, since that is what the ledger holds and what a customer is dunned
for. Beside it, each group and the grand total carry a ``converted`` view in the tenant's
currency (the sales policy's) at the rate that holds on the as-of day: receivables are
revalued at the reporting date, as a balance sheet does, and one number per group is what a
credit controller compares. Each currency's bucket is converted and rounded to the tenant
currency's minor units, then summed, so the converted buckets add up to the converted total
exactly. A currency with no rate that day is listed in ``unconverted`` and left out of the
converted figures, never guessed (as the forecast does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from shared.errors import InvalidInput
from shared.types import minor_units

GroupBy = Literal["customer", "owner", "region"]
BUCKETS: tuple[str, ...] = ("current", "1_30", "31_60", "61_90", "over_90")
# The last day past due each bucket but the last takes (inclusive).
_LAST_DAY: tuple[tuple[str, int], ...] = (("current", 0), ("1_30", 30), ("31_60", 60), ("61_90", 90))
# The as-of day must leave room for the bucket bounds below it (date arithmetic stops at year 1).
EARLIEST_AS_OF = date(1900, 1, 1)


def days_past_due(due_on: date, as_of: date) -> int:
    return (as_of - due_on).days


def bucket_of(days: int) -> str:
    """The bucket of an invoice ``days`` past due (0 or fewer: not due yet, current)."""
    for name, last in _LAST_DAY:
        if days <= last:
            return name
    return "over_90"


def due_since(as_of: date) -> list[tuple[str, date]]:
    """Each bucket but ``over_90`` with the earliest due date it takes on ``as_of``; an invoice due before all
    of them is over 90 days past due."""
    return [(name, as_of - timedelta(days=last)) for name, last in _LAST_DAY]


def check_as_of(as_of: date) -> None:
    if as_of < EARLIEST_AS_OF:
        raise InvalidInput.on("as_of", f"must be {EARLIEST_AS_OF.isoformat()} or later")


@dataclass(frozen=True)
class Row:
    """What invoices of one group, currency and bucket owed on the as-of day (only those owing something)."""

    group: str | None
    currency: str
    bucket: str
    amount: Decimal
    invoices: int


@dataclass
class Ageing:
    """Amounts per bucket, in one currency."""

    currency: str
    amounts: dict[str, Decimal] = field(default_factory=lambda: {b: Decimal(0) for b in BUCKETS})
    invoices: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal(0))

    def add(self, bucket: str, amount: Decimal, invoices: int) -> None:
        self.amounts[bucket] += amount
        self.invoices += invoices


@dataclass
class Group:
    group: str | None
    by_currency: dict[str, Ageing] = field(default_factory=dict)
    converted: Ageing | None = None
    unconverted: list[str] = field(default_factory=list)

    @property
    def invoices(self) -> int:
        return sum(a.invoices for a in self.by_currency.values())

    def add(self, row: Row) -> None:
        self.by_currency.setdefault(row.currency, Ageing(row.currency)).add(row.bucket, row.amount, row.invoices)


@dataclass(frozen=True)
class Report:
    currency: str
    groups: list[Group]
    totals: Group


def convert(by_currency: Mapping[str, Ageing], currency: str,
            rate_of: Callable[[str], Decimal | None]) -> tuple[Ageing, list[str]]:
    """The buckets in ``currency``: each currency's bucket at its rate, rounded, then summed; and the currencies
    with no rate (left out)."""
    step = Decimal(1).scaleb(-minor_units(currency))
    converted = Ageing(currency)
    missing = []
    for code in sorted(by_currency):
        ageing = by_currency[code]
        rate = rate_of(code)
        if rate is None:
            missing.append(code)
            continue
        for bucket, amount in ageing.amounts.items():
            converted.amounts[bucket] += (amount * rate).quantize(step, rounding=ROUND_HALF_UP)
        converted.invoices += ageing.invoices
    return converted, missing


def report(rows: Iterable[Row], currency: str, rate_of: Callable[[str], Decimal | None]) -> Report:
    """Groups (no group, None, last) with their buckets per currency and converted, and the grand totals."""
    groups: dict[str | None, Group] = {}
    totals = Group(None)
    for row in rows:
        groups.setdefault(row.group, Group(row.group)).add(row)
        totals.add(row)
    ordered = sorted(groups.values(), key=lambda g: (g.group is None, g.group or ""))
    for group in (*ordered, totals):
        group.converted, group.unconverted = convert(group.by_currency, currency, rate_of)
    return Report(currency, ordered, totals)
