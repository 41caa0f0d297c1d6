"""Money across currencies: an amount is converted at the rate valid on its day, or not at all.

Rates are the sales service's dated rates (one ``base`` is worth ``rate`` ``quote``); the inverse of a
pair's rate serves the other direction. An amount without a rate is never guessed: the caller lists it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Rate:
    base: str
    quote: str
    rate: Decimal
    valid_from: date


def rate_on(rates: list[Rate], source: str, target: str, day: date) -> Decimal | None:
    """How many ``target`` one ``source`` is worth on ``day``: the newest rate of the pair valid then."""
    if source == target:
        return Decimal(1)
    best: tuple[date, Decimal] | None = None
    for rate in rates:
        if rate.valid_from > day or rate.rate <= 0:
            continue
        if (rate.base, rate.quote) == (source, target):
            factor = rate.rate
        elif (rate.base, rate.quote) == (target, source):
            factor = 1 / rate.rate
        else:
            continue
        # On a day with rates both ways, the direct one wins.
        if best is None or rate.valid_from > best[0] or (rate.valid_from == best[0] and rate.base == source):
            best = (rate.valid_from, factor)
    return best[1] if best is not None else None


def convert(amount: Decimal, source: str, target: str, day: date, rates: list[Rate]) -> Decimal | None:
    factor = rate_on(rates, source, target, day)
    return amount * factor if factor is not None else None
