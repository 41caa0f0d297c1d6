"""The credit check's arithmetic. Plain Python.

**Exposure** = open receivables (what the customer's open invoices still owe) + confirmed
orders not invoiced yet (less what came back of them) + the order being confirmed, each
summed per currency and converted into the tenant's currency at the rate of the day of the
check (``exchange_rates``: dated rates, the inverse of a pair used as 1/rate), rounded once
per currency to the tenant currency's minor units. Every confirmed order counts, so a copy
of an order or an order split into small ones adds up like the one big order would.

**The limit** is the customer's ``credit_limit`` from its published view, converted the same
way; a customer without one takes the tenant's default (``sales_policy``); with neither the
customer is not checked (``limit`` None). An exposure above the limit holds the order
(equal to it passes).

A currency with no rate to the tenant's on the day is refused (422 naming the field it came
from): exposure is never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.errors import InvalidInput
from shared.types import minor_units

# One currency's rate to the tenant currency on the day; None: no rate holds.
RateOf = Callable[[str], Decimal | None]


@dataclass(frozen=True)
class Exposure:
    currency: str
    open_receivables: Decimal
    uninvoiced_orders: Decimal
    this_order: Decimal
    limit: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.open_receivables + self.uninvoiced_orders + self.this_order

    @property
    def headroom(self) -> Decimal | None:
        return self.limit - self.total if self.limit is not None else None

    @property
    def within_limit(self) -> bool:
        return self.limit is None or self.total <= self.limit


def convert(amounts: Mapping[str, Decimal], currency: str, rate_of: RateOf, field: str) -> Decimal:
    """The sum of per-currency amounts in ``currency``; a currency without a rate is a 422 naming ``field``."""
    total = Decimal(0)
    step = Decimal(1).scaleb(-minor_units(currency))
    for code, amount in sorted(amounts.items()):
        if amount == 0:
            continue
        rate = Decimal(1) if code == currency else rate_of(code)
        if rate is None:
            raise InvalidInput.on(field, f"no exchange rate from {code} to the tenant currency {currency} today")
        total += (amount * rate).quantize(step, rounding=ROUND_HALF_UP)
    return total


def exposure(*, currency: str, receivables: Mapping[str, Decimal], uninvoiced: Mapping[str, Decimal],
             order_total: Decimal, order_currency: str, limit: tuple[Decimal, str] | None,
             rate_of: RateOf) -> Exposure:
    """The figures of one check; the order's own currency is checked first, so its missing rate names it."""
    this_order = convert({order_currency: order_total}, currency, rate_of, "currency")
    converted_limit = (convert({limit[1]: limit[0]}, currency, rate_of, "customer.credit_limit.currency")
                       if limit is not None else None)
    return Exposure(currency=currency,
                    open_receivables=convert(receivables, currency, rate_of, "customer.open_receivables"),
                    uninvoiced_orders=convert(uninvoiced, currency, rate_of, "customer.uninvoiced_orders"),
                    this_order=this_order, limit=converted_limit)


def limit_of(view: Mapping[str, object] | None, default: Decimal | None,
             tenant_currency: str) -> tuple[Decimal, str] | None:
    """The customer's own credit limit (amount, currency) from its published view, else the tenant default."""
    profile = (view or {}).get("profile") or {}
    found = profile.get("credit_limit") if isinstance(profile, Mapping) else None
    if isinstance(found, Mapping) and found.get("amount") is not None and found.get("currency"):
        return Decimal(str(found["amount"])), str(found["currency"])
    return (default, tenant_currency) if default is not None else None
