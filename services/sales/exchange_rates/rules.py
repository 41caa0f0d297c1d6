"""The rules of dated exchange rates. Plain Python, tested directly.

A rate says what one unit of ``base`` is worth in ``quote``, from ``valid_from`` on,
until the next rate of the same pair. A pair and its inverse quote the same exchange:
for EUR -> USD on a day, the newest rate on or before that day of EUR/USD (taken as it is)
or of USD/EUR (taken as 1 / rate) is the one that holds; on a day both pairs got a new
rate, the direct pair's wins. There are no cross rates through a third currency: a
conversion the tenant has given no rate for is not made (``None``), never guessed.

Which rate holds on a day (``RateBook``) lives in ``shared.exchange_rates``; here are the
rules of recording one.
"""

from __future__ import annotations

import re
from decimal import Decimal

from shared.errors import InvalidInput
# Which rate holds on a day is the library's (the campaign service converts with the same rule).
from shared.exchange_rates import INVERSE_DIGITS, Rate, RateBook

__all__ = ["INVERSE_DIGITS", "Rate", "RateBook", "check_pair", "check_rate", "rate_text"]

MAX_DECIMALS = 10
MAX_INTEGER_DIGITS = 12
# A positive decimal string: 1 to 12 integer digits without a leading zero and up to 10 decimals, or
# "0." and 1 to 10 decimals not all zero (each alternative places the first non-zero decimal), so the
# schema refuses zero exactly as the rule does.
_FRACTIONS = "|".join(f"0{{{zeros}}}[1-9][0-9]{{0,{MAX_DECIMALS - 1 - zeros}}}" for zeros in range(MAX_DECIMALS))
RATE_PATTERN = (rf"^([1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}}(\.[0-9]{{1,{MAX_DECIMALS}}})?"
                rf"|0\.({_FRACTIONS}))$")
_RATE = re.compile(RATE_PATTERN)


def check_rate(text: str) -> Decimal:
    """A rate as the API takes it: a positive decimal string with at most ten decimals."""
    if not _RATE.match(text):
        raise InvalidInput.on("rate", f"must be a positive decimal string with at most {MAX_DECIMALS} decimals")
    return Decimal(text)


def rate_text(rate: Decimal) -> str:
    """A stored rate as shown: at most ten decimals, normalised (databases pad them; SQLite keeps a float)."""
    return format(rate.quantize(Decimal(1).scaleb(-MAX_DECIMALS)).normalize(), "f")


def check_pair(base: str, quote: str) -> None:
    if base == quote:
        raise InvalidInput.on("quote", "must differ from base")
