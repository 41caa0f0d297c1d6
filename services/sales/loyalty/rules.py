"""The rules of loyalty points: which earning rule applies, how many points a line earns, which lots a
redemption consumes, what expires, what a redemption is worth. Plain Python.

**Policy.** A tenant without a loyalty policy has no loyalty: nothing is earned, every account
is empty. The policy keeps the currency it was set in (the tenant's currency of that moment),
so a later change of the sales policy's currency never silently re-values points.

**Which rule.** A rule names a category path prefix (``Hardware`` covers ``Hardware`` and
``Hardware/Laptops``, never ``HardwareX``), a value tier, both or neither. Of the rules that
match a line's product category and the customer's tier, the most specific wins: the deeper
category prefix first (no category counts as depth 0), then a rule naming the tier over one
that does not. Two different prefixes of one depth cannot both match one category, so rules
tie only when they name the same category and tier: then the first in the policy's list wins
(the later ones never apply). No matching rule: the line earns nothing.

**Points.** A line earns ``floor(base * rate * points_per_unit)``: ``base`` is what the line
was invoiced for (its total, less what came back before it was invoiced or was credited by a
return's credit note before the invoice was paid, less its pro-rata share of a loyalty
discount: points are not earned on what points paid), ``rate`` what one unit of the invoice's
currency was worth in the policy's on the invoice's issue day. Nothing is rounded before the
floor. No rate that day: no points for the line, said in its reason.

**Lots.** Each earning is a lot with its expiry day (the earning day plus ``expiry_months``
calendar months, the last day of a shorter month if need be); its points are usable through
that day. A redemption consumes the oldest lots first; what a lot still holds after its day
expires, once.

**Redemption.** ``points * point_value`` (the policy's currency) converted into the order's
currency at today's rate, rounded down to the currency's minor units (points never buy more
than they are worth). Capped at the order's total: then only the fewest points that cover the
total are consumed.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal, localcontext
from typing import Any

from shared.errors import Conflict
from shared.types import minor_units

MAX_RULES = 200
MAX_EXPIRY_MONTHS = 120
# Digits of the exact products (amount * rate * points per unit) before they are floored.
PRECISION = 60


@dataclass(frozen=True)
class EarningRule:
    category: str | None
    value_tier: str | None
    points_per_unit: Decimal

    @property
    def depth(self) -> int:
        return len(self.category.split("/")) if self.category else 0

    def describe(self) -> str:
        return (f"category {self.category or '(any)'}, tier {self.value_tier or '(any)'}: "
                f"{format(self.points_per_unit.normalize(), 'f')} per unit")


@dataclass(frozen=True)
class Policy:
    earning_rules: tuple[EarningRule, ...]
    point_value: Decimal
    currency: str
    expiry_months: int
    version: int
    updated_at: datetime


def in_category(prefix: str, category: str | None) -> bool:
    """Whether ``category`` is the path ``prefix`` or below it (whole names only)."""
    return category is not None and (category == prefix or category.startswith(prefix + "/"))


def matches(rule: EarningRule, category: str | None, tier: str | None) -> bool:
    if rule.category is not None and not in_category(rule.category, category):
        return False
    return rule.value_tier is None or rule.value_tier == tier


def best_rule(rules: Sequence[EarningRule], category: str | None, tier: str | None) -> EarningRule | None:
    """The most specific matching rule: deepest category prefix, then a named tier, then the first listed
    (``max`` keeps the first of equals); None if none matches."""
    found = [r for r in rules if matches(r, category, tier)]
    return max(found, key=lambda r: (r.depth, r.value_tier is not None)) if found else None


def points_for(base: Decimal, rate: Decimal, points_per_unit: Decimal) -> int:
    """Whole points of an amount: the exact product, rounded down; never below zero."""
    with localcontext() as context:
        context.prec = PRECISION
        exact = base * rate * points_per_unit
    return max(int(exact.to_integral_value(rounding=ROUND_FLOOR)), 0)


@dataclass(frozen=True)
class LineBase:
    """What one invoiced line earns on: ``base`` in the invoice's currency (see the module's docstring)."""

    line: int
    product_id: str
    category: str | None
    base: Decimal


@dataclass(frozen=True)
class LineEarning:
    line: int
    product_id: str
    category: str | None
    base: Decimal
    points: int
    points_per_unit: Decimal | None
    reason: str

    def as_detail(self) -> dict[str, Any]:
        return {"line": self.line, "product_id": self.product_id, "category": self.category,
                "base": format(self.base, "f"), "points": self.points,
                "points_per_unit": format(self.points_per_unit, "f") if self.points_per_unit is not None else None,
                "reason": self.reason}


def line_bases(lines: Sequence[dict[str, Any]], categories: dict[str, str | None], *, before_invoice: Sequence[Decimal],
               credited: Sequence[Decimal], invoice_total: Decimal) -> list[LineBase]:
    """Per order line: its total less what came back before the invoice, scaled so that the lines add up to
    the invoice's total (a loyalty discount shared pro rata), less what returns credited since."""
    nets = [Decimal(line["line_total"]) - back for line, back in zip(lines, before_invoice, strict=True)]
    invoiced = sum(nets, Decimal(0))
    with localcontext() as context:
        context.prec = PRECISION
        share = invoice_total / invoiced if invoiced > 0 else Decimal(0)
        return [LineBase(line=index, product_id=str(line["product_id"]), category=categories.get(str(line["product_id"])),
                         base=max((net - credit) * share, Decimal(0)))
                for index, (line, net, credit) in enumerate(zip(lines, nets, credited, strict=True))]


def earn_lines(bases: Sequence[LineBase], rules: Sequence[EarningRule], tier: str | None, *, rate: Decimal | None,
               currency: str, policy_currency: str, rate_day: date) -> list[LineEarning]:
    """Each line's points and why."""
    earned = []
    for line in bases:
        rule = best_rule(rules, line.category, tier)
        if rule is None:
            earned.append(LineEarning(line.line, line.product_id, line.category, line.base, 0, None,
                                      f"no earning rule for category {line.category or '(none)'} and tier "
                                      f"{tier or '(none)'}"))
        elif rate is None:
            earned.append(LineEarning(line.line, line.product_id, line.category, line.base, 0, rule.points_per_unit,
                                      f"no exchange rate {currency}->{policy_currency} on {rate_day.isoformat()}"))
        else:
            points = points_for(line.base, rate, rule.points_per_unit)
            earned.append(LineEarning(line.line, line.product_id, line.category, line.base, points,
                                      rule.points_per_unit, f"{rule.describe()} of {policy_currency}, on "
                                      f"{format(line.base.quantize(Decimal('0.0001')).normalize(), 'f')} {currency}"
                                      + (f" at {format(rate.normalize(), 'f')}" if currency != policy_currency else "")))
    return earned


def expiry_day(earned_on: date, months: int) -> date:
    """``months`` calendar months after ``earned_on``; the month's last day when it is shorter."""
    month_index = earned_on.month - 1 + months
    year, month = earned_on.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(earned_on.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Lot:
    """An earning's points still unused; lists of lots are oldest (earliest earned) first."""

    lot_id: Any
    remaining: int
    expires_on: date


def usable(lots: Sequence[Lot], today: date) -> list[Lot]:
    return [lot for lot in lots if lot.remaining > 0 and lot.expires_on >= today]


def balance_of(lots: Sequence[Lot], today: date) -> int:
    return sum(lot.remaining for lot in usable(lots, today))


def next_expiry(lots: Sequence[Lot], today: date) -> tuple[int, date] | None:
    """The points that expire first and their day (usable through it)."""
    live = usable(lots, today)
    if not live:
        return None
    day = min(lot.expires_on for lot in live)
    return sum(lot.remaining for lot in live if lot.expires_on == day), day


def consume_oldest_first(lots: Sequence[Lot], points: int, today: date) -> list[tuple[Any, int]]:
    """Which lots (given oldest first) give ``points``; a 409 if the usable lots hold fewer."""
    live = usable(lots, today)
    held = sum(lot.remaining for lot in live)
    if points > held:
        raise Conflict(f"The account holds {held} points; {points} cannot be redeemed.",
                       errors=[{"field": "points", "message": f"at most {held}"}])
    taken, left = [], points
    for lot in live:
        if left == 0:
            break
        part = min(left, lot.remaining)
        taken.append((lot.lot_id, part))
        left -= part
    return taken


def still_earned(bases: Sequence[LineBase], points_per_unit: dict[int, Decimal | None], rate: Decimal | None,
                 kept_share: Decimal) -> int:
    """What an invoice earns now that part of it came back or was corrected: each line on what is left of it
    (``bases``, returns credited since taken off), scaled by the share corrections left of the invoice, at
    the rate and per-unit points of its earning."""
    if rate is None:
        return 0
    with localcontext() as context:
        context.prec = PRECISION
        return sum(points_for(line.base * kept_share, rate, per_unit) for line in bases
                   if (per_unit := points_per_unit.get(line.line)) is not None)


def take_back(own_lot: Lot | None, others: Sequence[Lot], points: int, today: date) -> tuple[list[tuple[Any, int]], int]:
    """The lots ``points`` come back out of (the invoice's own lot first, then the oldest usable ones), and the
    shortfall: points already spent are not taken twice and no balance goes below zero."""
    taken, left = [], points
    for lot in ([own_lot] if own_lot is not None and own_lot.remaining > 0 else []) + usable(others, today):
        if left == 0:
            break
        part = min(left, lot.remaining)
        taken.append((lot.lot_id, part))
        left -= part
    return taken, left


def expiring(lots: Sequence[Lot], today: date) -> list[tuple[Any, int]]:
    """Each lot past its day with points left: all of what is left expires."""
    return [(lot.lot_id, lot.remaining) for lot in lots if lot.remaining > 0 and lot.expires_on < today]


def redemption(points: int, point_value: Decimal, rate: Decimal, currency: str,
               order_total: Decimal) -> tuple[int, Decimal]:
    """(points consumed, discount in the order's currency): the points' value, at most the order's total."""
    step = Decimal(1).scaleb(-minor_units(currency))
    with localcontext() as context:
        context.prec = PRECISION
        per_point = point_value * rate
        worth = (per_point * points).quantize(step, rounding=ROUND_DOWN)
        if worth <= order_total:
            return points, worth
        needed = int((order_total / per_point).to_integral_value(rounding=ROUND_CEILING))
    return needed, order_total

