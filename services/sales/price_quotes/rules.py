"""How a line is priced: which price book's entry applies, why, and what the line costs. Plain Python.

**The selection rule.** For a line (a product and a quantity) on a date, in a currency,
the candidates are the entries for that product in the tenant's active price books of
that currency that are valid on the date (validity is half-open: ``valid_from <= date <
valid_to``; no ``valid_to`` means open-ended) and whose ``min_quantity`` the quantity
reaches. A book that names a customer group or value tier applies only to customers
in that group or tier; one naming neither applies to everybody (a quote without a
customer sees only those). Among the candidates:

1. the most specific segment match wins: group and tier > group alone > tier alone > neither;
2. then the highest ``min_quantity`` reached (the volume price the quantity earned);
3. then the earliest-ending validity (a book without an end date counts as ending last):
   the offer that runs out sooner is the one meant for now;
4. and, for a total order, the latest ``valid_from``, then the book id.

No candidate: the line has no price, and the quote says so (422 naming the line).
A bundle is priced by its own entry like any other product, never summed from its
components: what a bundle costs is the seller's decision, stated in a book.

**Arithmetic.** ``line_total = quantity x unit_price x (100 - discount_percent) / 100``,
rounded half up to the currency's minor units once, at the end of the line; the quote's
total is the sum of its line totals (what each line charges).

**Discounts.** A discount above the tenant's threshold (percent, default 10) needs the
caller to hold the approve scope; at or below it anybody quoting may give it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from shared.errors import Forbidden
from shared.types import minor_units

DEFAULT_DISCOUNT_THRESHOLD = Decimal(10)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineRequest:
    """One line to price: a product, how many, and the discount asked for (percent)."""

    product_id: uuid.UUID
    quantity: Decimal
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class PricedLine:
    """A priced line: the unit price chosen, the book it came from and why, and the line's total."""

    product_id: uuid.UUID
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal
    currency: str
    price_book_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class Segment:
    """Where a customer stands for pricing: its group and value tier (None: not classified, or no customer)."""

    customer_group: str | None = None
    value_tier: str | None = None


NO_SEGMENT = Segment()


@dataclass(frozen=True)
class Offer:
    """One price-book entry for one product: a candidate price, with what its book says about whom and when."""

    price_book_id: uuid.UUID
    customer_group: str | None
    value_tier: str | None
    valid_from: date
    valid_to: date | None
    min_quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class Choice:
    offer: Offer
    reason: str


def segment_of(view: dict[str, Any] | None) -> Segment:
    """The customer's group and tier, from its replicated unified view (``profile.customer_group``, ``value_tier``)."""
    profile = (view or {}).get("profile") or {}
    group, tier = profile.get("customer_group"), profile.get("value_tier")
    return Segment(customer_group=str(group) if group else None, value_tier=str(tier) if tier else None)


def valid_on(valid_from: date, valid_to: date | None, on: date) -> bool:
    """Half-open validity: from ``valid_from`` inclusive until ``valid_to`` exclusive (None: open-ended)."""
    return valid_from <= on and (valid_to is None or on < valid_to)


def specificity(offer: Offer, segment: Segment) -> int | None:
    """How specifically the offer's book names the customer: 3 group and tier, 2 group, 1 tier, 0 neither;
    None if it names a group or tier the customer is not in (it never applies)."""
    if offer.customer_group is not None and offer.customer_group != segment.customer_group:
        return None
    if offer.value_tier is not None and offer.value_tier != segment.value_tier:
        return None
    return (2 if offer.customer_group is not None else 0) + (1 if offer.value_tier is not None else 0)


def _rank(offer: Offer, match: int) -> tuple[int, Decimal, date, int, str]:
    """Sort key: best first (see the module docstring for the order)."""
    ends = offer.valid_to or date.max
    return (-match, -offer.min_quantity, ends, -offer.valid_from.toordinal(), str(offer.price_book_id))


def choose(offers: Iterable[Offer], segment: Segment, quantity: Decimal, on: date) -> Choice | None:
    """The offer that prices ``quantity`` for a customer in ``segment`` on ``on``, and why; None: none applies."""
    applicable: list[tuple[tuple[int, Decimal, date, int, str], Offer, int]] = []
    for offer in offers:
        match = specificity(offer, segment)
        if match is None or not valid_on(offer.valid_from, offer.valid_to, on) or offer.min_quantity > quantity:
            continue
        applicable.append((_rank(offer, match), offer, match))
    if not applicable:
        return None
    applicable.sort(key=lambda ranked: ranked[0])
    _, best, match = applicable[0]
    return Choice(best, reason_for(best, match, others=len(applicable) - 1))


def reason_for(offer: Offer, match: int, *, others: int = 0) -> str:
    """Why this price: the segment match, the quantity tier, the validity, and how many others it beat."""
    if match == 3:
        said = f"customer group {offer.customer_group} and value tier {offer.value_tier} match"
    elif match == 2:
        said = f"customer group {offer.customer_group} matches"
    elif match == 1:
        said = f"value tier {offer.value_tier} matches"
    else:
        said = "the book names no customer group or value tier (it applies to every customer)"
    if offer.min_quantity > 0:
        said += f"; the quantity reaches the minimum of {format(offer.min_quantity.normalize(), 'f')}"
    if offer.valid_to is None:
        said += f"; valid from {offer.valid_from.isoformat()}, without an end"
    else:
        said += f"; valid from {offer.valid_from.isoformat()} until {offer.valid_to.isoformat()} (exclusive)"
    if others:
        said += f"; chosen over {others} other applicable price{'s' if others > 1 else ''}"
    return said


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, currency: str) -> Decimal:
    """What the line charges, rounded half up to the currency's minor units once."""
    with localcontext() as context:
        context.prec = 60  # exact: 9+4 digits of quantity times 16+4 of price times 5 of discount fit
        exact = quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED
        return exact.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def effective_discount(unit_price: Decimal, discount_percent: Decimal, list_price: Decimal) -> Decimal:
    """How far below ``list_price`` (percent) a hand-set price with its own discount lands; 0 at or above it."""
    if list_price <= 0:
        return Decimal(0)
    paid = unit_price * (HUNDRED - discount_percent) / HUNDRED
    return max(Decimal(0), (list_price - paid) * HUNDRED / list_price)


def check_given_price(index: int, unit_price: Decimal, discount_percent: Decimal, list_price: Decimal | None,
                      threshold: Decimal, *, may_approve: bool, approve_scope: str) -> None:
    """A line priced by hand is held to the threshold as a book-priced line is: by its own discount, and by
    how far below the price the books give (when one does) it ends up. Otherwise a typed-in price would be
    a way round the approval."""
    check_discount(index, discount_percent, threshold, may_approve=may_approve, approve_scope=approve_scope)
    if list_price is None or may_approve:
        return
    below = effective_discount(unit_price, discount_percent, list_price)
    if below > threshold:
        shown, listed = format(threshold.normalize(), "f"), format(list_price.normalize(), "f")
        message = (f"the price is {format(below.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP), 'f')}% below "
                   f"the price book's {listed}, above the tenant's threshold of {shown}%: it needs the scope "
                   f"{approve_scope}")
        raise Forbidden(f"lines[{index}].unit_price: {message}.",
                        errors=[{"field": f"lines[{index}].unit_price", "message": message}])


def check_discount(index: int, discount_percent: Decimal, threshold: Decimal, *, may_approve: bool,
                   approve_scope: str) -> None:
    """A discount above the tenant's threshold needs someone who may approve it (403 naming the threshold)."""
    if discount_percent > threshold and not may_approve:
        shown = format(threshold.normalize(), "f")
        message = (f"a discount of {format(discount_percent.normalize(), 'f')}% is above the tenant's threshold of "
                   f"{shown}%: it needs the scope {approve_scope}")
        raise Forbidden(f"lines[{index}].discount_percent: {message}.",
                        errors=[{"field": f"lines[{index}].discount_percent", "message": message}])
