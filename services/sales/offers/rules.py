"""The rules of cross-sell offers. Plain Python.

**Similar customers** of customer C are those in C's segment: the same customer group and
value tier in the replicated unified view (a customer without a group or tier is similar to
those without one), C excluded, who have a basket. At most ``SIMILAR_CAP`` of them count, the
ones who bought most recently, so an offer costs the same in a segment of a million.

**Baskets** are the products on a customer's orders that were delivered or invoiced, unless
the order was cancelled or came back in full. C **owns** every product on any of its orders
not cancelled (one on order is not offered again).

**Candidates** are the products similar customers bought that C does not own and that are
active. They rank by co-occurrence, the number of similar customers who bought the candidate
and at least one product C owns; then by popularity, the number of similar customers who
bought it; then by SKU. A customer with no orders owns nothing: popularity alone ranks.

**Score** is ``co + popularity / (similar + 1)``, four decimals: its integer part is the
co-occurrence and its fraction the popularity share, so scores sort as the ranking does.

**Reason** says it in words, e.g. "bought by 3 of 5 similar customers (group retail, tier
gold); 2 of them also bought Dock (DOCK-1)", naming the product C owns that most of them also
bought.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.errors import InvalidInput

SIMILAR_CAP = 500
DEFAULT_LIMIT = 5
MAX_LIMIT = 50
# How many offers the event carries: what the view's next best action shows.
PUBLISHED = 5


@dataclass(frozen=True)
class Segment:
    customer_group: str | None
    value_tier: str | None

    def words(self) -> str:
        return f"group {self.customer_group or '(none)'}, tier {self.value_tier or '(none)'}"


@dataclass(frozen=True)
class Item:
    """What an offer says of a product."""

    product_id: uuid.UUID
    sku: str
    name: str
    active: bool = True

    def words(self) -> str:
        return f"{self.name} ({self.sku})"


@dataclass(frozen=True)
class Counts:
    """One candidate's figures among the similar customers."""

    product_id: uuid.UUID
    bought_by: int
    co_bought_by: int = 0
    # The owned product most of its buyers also bought, and how many did.
    also: tuple[uuid.UUID, int] | None = None


@dataclass(frozen=True)
class Offer:
    item: Item
    bought_by: int
    co_bought_by: int
    similar: int
    also_bought: Item | None
    score: Decimal
    reason: str


def segment_of(view: Mapping[str, object] | None) -> Segment:
    profile = (view or {}).get("profile") or {}
    assert isinstance(profile, Mapping)
    group, tier = profile.get("customer_group"), profile.get("value_tier")
    return Segment(str(group) if group else None, str(tier) if tier else None)


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"must be 1 to {MAX_LIMIT}")


def score(counts: Counts, similar: int) -> Decimal:
    return (Decimal(counts.co_bought_by) + Decimal(counts.bought_by) / Decimal(similar + 1)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP)


def reason(counts: Counts, similar: int, segment: Segment, also: Item | None) -> str:
    said = f"bought by {counts.bought_by} of {similar} similar customers ({segment.words()})"
    if also is not None and counts.also is not None:
        said += f"; {counts.also[1]} of them also bought {also.words()}"
    return said


def rank(candidates: Iterable[Counts], items: Mapping[uuid.UUID, Item], owned: set[uuid.UUID], similar: int,
         segment: Segment, limit: int) -> list[Offer]:
    """The best ``limit`` offers: owned, unknown and inactive products left out."""
    offers = []
    for counts in candidates:
        item = items.get(counts.product_id)
        if item is None or not item.active or counts.product_id in owned or counts.bought_by == 0:
            continue
        also = items.get(counts.also[0]) if counts.also is not None else None
        offers.append(Offer(item=item, bought_by=counts.bought_by, co_bought_by=counts.co_bought_by, similar=similar,
                            also_bought=also, score=score(counts, similar),
                            reason=reason(counts, similar, segment, also)))
    offers.sort(key=lambda o: (-o.co_bought_by, -o.bought_by, o.item.sku))
    return offers[:limit]


def offers_hash(offers: Iterable[Mapping[str, object]]) -> str:
    """The hash of offers as published: any change of what a reader would show is a change."""
    text = json.dumps(list(offers), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
