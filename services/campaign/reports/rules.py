"""Attribution and the report's arithmetic, plain Python.

A *touch* is a customer's response to a campaign (opened, clicked, replied, registered, converted; an
unsubscribe is no touch). A *conversion* is something sales made of a customer: a lead, an opportunity,
a won deal. A conversion's credit (1 for a lead or an opportunity, the amount for a won deal) goes to the
customer's touches at or before it, within the lookback window:

- ``first_touch``: all of it to the earliest touch;
- ``last_touch``: all of it to the latest;
- ``linear``: shared equally by every touch.

So the leads of a campaign may be fractional under ``linear`` (0.5 of a lead two campaigns touched), and
the credits of one conversion always add up to one across campaigns: nothing is counted twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

MODELS = ("first_touch", "last_touch", "linear")
TOUCH_KINDS = frozenset({"opened", "clicked", "replied", "registered", "converted"})
# Responses that show interest beyond reading: the report's "responded".
INTEREST_KINDS = frozenset({"clicked", "replied", "registered", "converted"})
REACHED_STATUSES = frozenset({"sent", "bounced", "unconfirmed"})
DEFAULT_LOOKBACK_DAYS = 90
# The value tier of a customer without one (or one the replica no longer knows).
UNCLASSIFIED = "unclassified"


def value_tier(view: dict[str, Any] | None) -> str:
    """A customer's value tier as its replicated view has it now."""
    return str(((view or {}).get("profile") or {}).get("value_tier") or UNCLASSIFIED)


@dataclass(frozen=True)
class Touch:
    campaign_id: uuid.UUID
    variant: str | None
    at: datetime


def credits(touches: Iterable[Touch], at: datetime, model: str, lookback: timedelta) -> list[tuple[Touch, Decimal]]:
    """How one conversion at ``at`` is shared among the touches before it (nothing: no touch in the window)."""
    eligible = sorted((t for t in touches if at - lookback <= t.at <= at), key=lambda t: (t.at, str(t.campaign_id)))
    if not eligible:
        return []
    if model == "first_touch":
        return [(eligible[0], Decimal(1))]
    if model == "last_touch":
        return [(eligible[-1], Decimal(1))]
    share = Decimal(1) / len(eligible)
    # The last touch takes what rounding left, so one conversion's credits add up to exactly one.
    last = Decimal(1) - share * (len(eligible) - 1)
    return [(touch, share) for touch in eligible[:-1]] + [(eligible[-1], last)]


def lead_touches(touches: list[Touch], lead_campaign: uuid.UUID | None, variant: str | None,
                 created_at: datetime, lookback: timedelta) -> list[Touch]:
    """A lead a campaign's response made counts that campaign as a touch, even when its response is not
    among the customer's touches (a lead without a customer yet, or a response outside the window)."""
    if lead_campaign is None or any(
            t.campaign_id == lead_campaign and created_at - lookback <= t.at <= created_at for t in touches):
        return touches
    return [*touches, Touch(lead_campaign, variant, created_at)]


@dataclass
class Tally:
    """One group's figures (the whole campaign, a variant, a value tier), counted then shown."""

    members: int = 0
    reached: int = 0
    delivered: int = 0
    bounced: int = 0
    suppressed: int = 0
    opened: int = 0
    clicked: int = 0
    responded: int = 0
    converted: int = 0
    unsubscribed: int = 0
    leads: Decimal = Decimal(0)
    opportunities: Decimal = Decimal(0)
    won_deals: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)  # in the report's currency
    unconverted: dict[str, Decimal] = field(default_factory=dict)  # won revenue without a rate, per currency

    def count_send(self, status: str) -> None:
        if status in REACHED_STATUSES:
            self.reached += 1
        if status == "sent":
            self.delivered += 1
        elif status == "bounced":
            self.bounced += 1
        elif status == "suppressed":
            self.suppressed += 1

    def count_responses(self, kinds: set[str]) -> None:
        self.opened += "opened" in kinds
        self.clicked += "clicked" in kinds
        self.responded += bool(kinds & INTEREST_KINDS)
        self.converted += "converted" in kinds
        self.unsubscribed += "unsubscribed" in kinds


def rate(part: int | Decimal, whole: int) -> float | None:
    return round(float(part) / whole, 4) if whole else None


def share_of_cost(cost: Decimal, reached: int, total_reached: int, members: int, total_members: int) -> Decimal:
    """A group's part of the campaign's cost: by the messages it took, or by its members before any left."""
    if total_reached:
        return cost * reached / total_reached
    return cost * members / total_members if total_members else Decimal(0)


def cost_per_lead(cost: Decimal, leads: Decimal) -> Decimal | None:
    return cost / leads if leads > 0 else None


def roi(revenue: Decimal, cost: Decimal) -> float | None:
    """Return on investment: what the revenue earned beyond the cost, per unit of cost."""
    return round(float((revenue - cost) / cost), 4) if cost > 0 else None
