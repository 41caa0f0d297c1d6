"""Dated exchange rates and which one holds on a day.

A rate says what one unit of ``base`` is worth in ``quote``, from ``valid_from`` on, until the next
rate of the same pair. A pair and its inverse quote the same exchange: for EUR -> USD on a day, the
newest rate on or before that day of EUR/USD (taken as it is) or of USD/EUR (taken as 1 / rate) is
the one that holds; on a day both pairs got a new rate, the direct pair's wins. There are no cross
rates through a third currency: a conversion no rate was given for is not made (``None``), never
guessed.

The inverse is divided exactly to ``INVERSE_DIGITS`` significant digits, and nothing is rounded to a
currency's minor units here: whoever converts rounds once, at the end.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

# Digits kept of 1 / rate: well past the 28 of Decimal's default context, so that a sum of
# conversions rounded to cents at the end is the sum of the exact inverses rounded to cents.
INVERSE_DIGITS = 40


@dataclass(frozen=True)
class Rate:
    base: str
    quote: str
    rate: Decimal
    valid_from: date


class RateBook:
    """The rates of some pairs, answering which rate holds on a day."""

    def __init__(self, rates: Iterable[Rate]) -> None:
        by_pair: dict[tuple[str, str], list[Rate]] = {}
        for rate in rates:
            by_pair.setdefault((rate.base, rate.quote), []).append(rate)
        self._pairs = {pair: sorted(found, key=lambda r: r.valid_from) for pair, found in by_pair.items()}
        self._days = {pair: [r.valid_from for r in found] for pair, found in self._pairs.items()}

    def _latest(self, base: str, quote: str, on: date) -> Rate | None:
        days = self._days.get((base, quote))
        if not days:
            return None
        at = bisect.bisect_right(days, on)
        return self._pairs[(base, quote)][at - 1] if at else None

    def rate_on(self, base: str, quote: str, on: date) -> Decimal | None:
        """What one ``base`` is worth in ``quote`` on ``on``; None when no rate holds that day."""
        if base == quote:
            return Decimal(1)
        direct, inverse = self._latest(base, quote, on), self._latest(quote, base, on)
        if direct is not None and (inverse is None or direct.valid_from >= inverse.valid_from):
            return direct.rate
        if inverse is None:
            return None
        with localcontext() as exact:
            exact.prec = INVERSE_DIGITS
            return Decimal(1) / inverse.rate

    def change_days(self, after: date, until: date, between: tuple[str, str] | None = None) -> list[date]:
        """The days in ``(after, until]`` on which a rate of the book (of ``between``'s pair or its inverse) starts."""
        pairs = [between, between[::-1]] if between is not None else list(self._days)
        return sorted({day for pair in pairs for day in self._days.get(pair, ()) if after < day <= until})

    def currencies_quoted_with(self, currency: str) -> set[str]:
        """The currencies the book has a rate for into or out of ``currency``."""
        return {other for pair in self._days if currency in pair for other in pair if other != currency}

    def convert(self, amount: Decimal, source: str, target: str, on: date) -> Decimal | None:
        """``amount`` of ``source`` in ``target`` at the rate of ``on``; None when no rate holds that day."""
        rate = self.rate_on(source, target, on)
        return amount * rate if rate is not None else None
