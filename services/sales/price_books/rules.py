"""The rules of price books: validity, prices in the book's currency, and no two books for one segment at once.

Plain Python, tested directly.

* **Validity** is half-open, ``[valid_from, valid_to)``: a book ending on 1 July and its
  successor starting on 1 July never both apply. No ``valid_to``: open-ended.
* **Entries**: each unit price is money in the book's currency, with at most that
  currency's decimals; a product is priced at most once per ``min_quantity`` (volume
  prices are entries of the same product with higher minimums).
* **No overlap**: two active books of the same currency and segment (the same
  customer group and value tier, either possibly none) may not be valid on the same
  day: which of them priced a line would be a coin toss. Retire one, or end it first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.changes import changed_fields
from shared.errors import Conflict, InvalidInput
from shared.types import check_money

ACTIVE, RETIRED = "active", "retired"
# Fields naming the segment and the period: what a 409 for an overlap names.
OVERLAP_FIELDS = ("currency", "customer_group", "value_tier", "valid_from", "valid_to")


@dataclass(frozen=True)
class Entry:
    """An entry as checked: its product, unit price (in the book's currency) and minimum quantity."""

    product_id: uuid.UUID
    unit_price: Decimal
    min_quantity: Decimal


@dataclass(frozen=True)
class Period:
    """A book's identity for the overlap check: its id and validity."""

    price_book_id: uuid.UUID
    valid_from: date
    valid_to: date | None


def check_dates(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise InvalidInput.on("valid_to", "must be after valid_from (a book is valid from valid_from until "
                                          "valid_to, exclusive)")


def check_entries(entries: Sequence[Mapping[str, Any]], currency: str) -> list[Entry]:
    """Entries as stored; errors name ``entries[i]`` and the part that is wrong."""
    checked: list[Entry] = []
    seen: dict[tuple[uuid.UUID, Decimal], int] = {}
    for index, raw in enumerate(entries):
        price = raw["unit_price"]
        if price["currency"] != currency:
            raise InvalidInput.on(f"entries[{index}].unit_price.currency", f"must be the book's currency, {currency}")
        amount = check_money(Decimal(price["amount"]), currency, f"entries[{index}].unit_price.amount")
        entry = Entry(product_id=uuid.UUID(str(raw["product_id"])), unit_price=amount,
                      min_quantity=Decimal(raw.get("min_quantity") or 0))
        key = (entry.product_id, entry.min_quantity)
        if key in seen:
            raise InvalidInput.on(f"entries[{index}]", f"prices the same product from the same min_quantity as "
                                                       f"entries[{seen[key]}]")
        seen[key] = index
        checked.append(entry)
    return checked


def check_products_known(entries: Sequence[Entry], known: Iterable[uuid.UUID]) -> None:
    found = set(known)
    for index, entry in enumerate(entries):
        if entry.product_id not in found:
            raise InvalidInput.on(f"entries[{index}].product_id", f"no product {entry.product_id}")


def overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    """Whether two half-open periods share a day (None: no end)."""
    return (b_to is None or a_from < b_to) and (a_to is None or b_from < a_to)


def check_no_overlap(valid_from: date, valid_to: date | None, others: Iterable[Period]) -> None:
    """409 naming the segment and period fields, and the book already there."""
    for other in others:
        if overlaps(valid_from, valid_to, other.valid_from, other.valid_to):
            until = other.valid_to.isoformat() if other.valid_to else "without an end"
            message = (f"price book {other.price_book_id} has the same currency and segment and is valid "
                       f"from {other.valid_from.isoformat()} until {until}")
            raise Conflict(f"The validity overlaps another book's: {message}. End or retire that book first, "
                           f"or give this one another period or segment.",
                           errors=[{"field": name, "message": message} for name in OVERLAP_FIELDS])


def check_changeable(status: str) -> None:
    if status != ACTIVE:
        raise Conflict("The price book is retired; a retired book does not change (allowed: none). "
                       "Create a new book instead.")


def changes(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return changed_fields(current, new)
