"""The rules of profitability by segment. Plain Python.

**Basis.** Revenue is recognised on invoices: an order counts in the period its invoice was
issued in, on the invoice's day and in its currency, by the order's lines.

- ``gross_revenue``: quantity times the line's unit price (the price book's, or the price a
  seller typed in: the list price the order was priced from);
- ``discounts``: gross less what the lines were sold for (their totals), and the order's loyalty
  discount (points redeemed) shared among its lines by their totals;
- ``loyalty_discounts``: that loyalty part of the discounts, on its own;
- ``net_revenue``: the lines' totals less their share of the loyalty discount (what was invoiced);
- ``returns``: what came back, by its return's lines, at the value each return line credits:
  on the day of the return's credit note when it was credited after the invoice, or on the
  invoice's day when it came back before the invoice, which left it out. So net revenue less
  returns is what the period's invoices and return credit notes add up to;
- ``corrections``: credit notes that correct an invoice (no product: their category is null);
- ``cost_of_goods``: quantity sold times the product's cost price of the invoice's day (the cost
  price history: the last change on or before that day), in its cost currency; ``returned_cost``
  the same for what came back, at the cost of the day it counts on (the goods are back in stock);
- ``contribution_margin``: net revenue - returns - corrections - (cost of goods - returned
  cost); ``margin_percent``: the margin over net revenue, in percent, two decimals (none when
  net revenue is zero).

A product without a cost price adds no cost: it is named in ``uncosted`` (its SKU), never
costed at zero silently.

**Money.** Every amount is summed per group, figure, currency and day, then converted into the
reporting currency at the rate that holds on that day and rounded to the reporting currency's
minor units; the converted figures are the sums of those. An amount in a currency with no rate
on its day is left out of the converted figures and kept in ``unconverted``, in its own
currency, per currency: never guessed, never dropped. Totals are the sums of the groups, so
the groups add up to them exactly.

**Dimensions.** ``category`` is the product's category path cut to ``category_depth`` levels
(1: the top level, "Hardware"; 2: "Hardware/Laptops"), ``customer_group``, ``value_tier``
and ``region`` the customer's in the sales replica of the unified view today (not when it
bought: the view keeps no history), ``channel`` the order's, ``owner`` the owner of the won
deal the order came from (an order placed directly has none). A record without a value is
in the group whose value is null.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from shared.errors import InvalidInput
from shared.types import minor_units

Dimension = Literal["category", "customer_group", "value_tier", "region", "channel", "owner"]
DIMENSIONS: tuple[Dimension, ...] = ("category", "customer_group", "value_tier", "region", "channel", "owner")
# A longer period is a data export, not a report: asked for in pieces.
MAX_PERIOD_DAYS = 3 * 366
MAX_CATEGORY_DEPTH = 10
# What group_by's schema states: known dimensions, comma-separated (that none comes twice is checked here).
_ONE = "(" + "|".join(DIMENSIONS) + ")"
GROUP_BY_PATTERN = f"^({_ONE}(,{_ONE})*)?$"
FIGURES: tuple[str, ...] = ("gross_revenue", "discounts", "loyalty_discounts", "net_revenue", "returns", "corrections",
                            "cost_of_goods",
                            "returned_cost")

Key = tuple[str | None, ...]
RateOf = Callable[[str, date], Decimal | None]


def parse_group_by(text: str | None) -> tuple[Dimension, ...]:
    """``category,channel`` -> the dimensions in the order given; empty: one total (422 naming group_by)."""
    if text is None or not text.strip():
        return ()
    names = [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown:
        raise InvalidInput.on("group_by", f"unknown dimension {', '.join(repr(n) for n in unknown)}; "
                                          f"choose from {', '.join(DIMENSIONS)}")
    if len(set(names)) != len(names):
        raise InvalidInput.on("group_by", "names a dimension twice")
    return tuple(name for name in names if name in DIMENSIONS)  # type: ignore[misc]


def check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput.on("to", "must not be before from")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput.on("to", f"the period is at most {MAX_PERIOD_DAYS} days (three years)")


def category_at(path: str | None, depth: int) -> str | None:
    """``Hardware/Laptops/Gaming`` at depth 2 is ``Hardware/Laptops``; no category stays None."""
    if not path:
        return None
    return "/".join(part for part in path.split("/")[:depth])


@dataclass(frozen=True)
class Costing:
    """What the report reads of a product: its category path and cost price, with the cost prices it had from
    each day on (oldest first) where they are known."""

    sku: str
    category: str | None
    cost: Decimal | None
    cost_currency: str | None
    history: tuple[tuple[date, Decimal | None, str | None], ...] = ()

    def on(self, day: date) -> tuple[Decimal | None, str | None]:
        """The cost price of ``day``: the last change on or before it; before the first, the first (the
        oldest known); without a history, the product's cost now."""
        if not self.history:
            return self.cost, self.cost_currency
        chosen = self.history[0]
        for entry in self.history:
            if entry[0] > day:
                break
            chosen = entry
        return chosen[1], chosen[2]


@dataclass(frozen=True)
class Sold:
    """Invoiced lines of one product, summed per group (without category), currency and invoice day."""

    key: Mapping[str, str | None]
    currency: str
    day: date
    product_id: uuid.UUID | None
    quantity: Decimal
    gross: Decimal
    net: Decimal
    # The lines' share of their orders' loyalty discounts (points redeemed), by line total.
    loyalty: Decimal = Decimal(0)


@dataclass(frozen=True)
class Returned:
    """Returned lines of one product, summed per group, currency and day they count on."""

    key: Mapping[str, str | None]
    currency: str
    day: date
    product_id: uuid.UUID | None
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Corrected:
    """Correction credit notes, summed per group, currency and day."""

    key: Mapping[str, str | None]
    currency: str
    day: date
    amount: Decimal


@dataclass
class Figures:
    gross_revenue: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)
    loyalty_discounts: Decimal = Decimal(0)
    net_revenue: Decimal = Decimal(0)
    returns: Decimal = Decimal(0)
    corrections: Decimal = Decimal(0)
    cost_of_goods: Decimal = Decimal(0)
    returned_cost: Decimal = Decimal(0)

    @property
    def contribution_margin(self) -> Decimal:
        return self.net_revenue - self.returns - self.corrections - (self.cost_of_goods - self.returned_cost)

    @property
    def margin_percent(self) -> Decimal | None:
        if self.net_revenue == 0:
            return None
        return (self.contribution_margin * 100 / self.net_revenue).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def add(self, other: Figures) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) == 0 for f in fields(self))


@dataclass
class Group:
    key: Key
    converted: Figures = field(default_factory=Figures)
    unconverted: dict[str, Figures] = field(default_factory=dict)
    uncosted: set[str] = field(default_factory=set)

    def add(self, other: Group) -> None:
        self.converted.add(other.converted)
        for code, figures in other.unconverted.items():
            self.unconverted.setdefault(code, Figures()).add(figures)
        self.uncosted |= other.uncosted


@dataclass(frozen=True)
class Report:
    currency: str
    group_by: tuple[Dimension, ...]
    groups: list[Group]
    total: Group


# (group key, currency, day) -> the figures of that group in that currency on that day.
_Amounts = dict[tuple[Key, str, date], Figures]


def _amount(amounts: _Amounts, key: Key, currency: str, day: date) -> Figures:
    return amounts.setdefault((key, currency, day), Figures())


def _key(group_by: tuple[Dimension, ...], row_key: Mapping[str, str | None], category: str | None) -> Key:
    return tuple(category if name == "category" else row_key.get(name) for name in group_by)


def _costing(costs: Mapping[uuid.UUID, Costing], product_id: uuid.UUID | None) -> Costing | None:
    return costs.get(product_id) if product_id is not None else None


def gather(group_by: tuple[Dimension, ...], depth: int, costs: Mapping[uuid.UUID, Costing], sold: Iterable[Sold],
           returned: Iterable[Returned], corrected: Iterable[Corrected]) -> tuple[_Amounts, dict[Key, set[str]]]:
    """Every amount by group, currency and day (costs in their cost currency on the document's day), and the
    SKUs each group could not cost."""
    amounts: _Amounts = {}
    uncosted: dict[Key, set[str]] = {}

    def cost(key: Key, product: Costing | None, quantity: Decimal, day: date, figure: str) -> None:
        if product is None:
            return
        price, currency = product.on(day)
        if price is None or currency is None:
            uncosted.setdefault(key, set()).add(product.sku)
            return
        target = _amount(amounts, key, currency, day)
        setattr(target, figure, getattr(target, figure) + quantity * price)

    for row in sold:
        product = _costing(costs, row.product_id)
        key = _key(group_by, row.key, category_at(product.category, depth) if product else None)
        target = _amount(amounts, key, row.currency, row.day)
        target.gross_revenue += row.gross
        target.discounts += row.gross - row.net + row.loyalty
        target.loyalty_discounts += row.loyalty
        target.net_revenue += row.net - row.loyalty
        cost(key, product, row.quantity, row.day, "cost_of_goods")
    for back in returned:
        product = _costing(costs, back.product_id)
        key = _key(group_by, back.key, category_at(product.category, depth) if product else None)
        _amount(amounts, key, back.currency, back.day).returns += back.amount
        cost(key, product, back.quantity, back.day, "returned_cost")
    for note in corrected:
        _amount(amounts, _key(group_by, note.key, None), note.currency, note.day).corrections += note.amount
    return amounts, uncosted


def convert(figures: Figures, rate: Decimal, currency: str) -> Figures:
    """Each figure at ``rate``, rounded to the reporting currency's minor units."""
    step = Decimal(1).scaleb(-minor_units(currency))
    return Figures(**{name: (getattr(figures, name) * rate).quantize(step, rounding=ROUND_HALF_UP)
                      for name in FIGURES})


def report(group_by: tuple[Dimension, ...], currency: str, amounts: _Amounts, uncosted: Mapping[Key, set[str]],
           rate_of: RateOf) -> Report:
    """Groups (sorted by their values, nulls last) with their converted and unconverted figures, and the total."""
    groups: dict[Key, Group] = {}
    for (key, code, day), figures in sorted(amounts.items(), key=lambda item: (item[0][1], item[0][2])):
        group = groups.setdefault(key, Group(key))
        rate = Decimal(1) if code == currency else rate_of(code, day)
        if rate is None:
            group.unconverted.setdefault(code, Figures()).add(figures)
        else:
            group.converted.add(convert(figures, rate, currency))
    for key, skus in uncosted.items():
        groups.setdefault(key, Group(key)).uncosted |= skus
    ordered = sorted(groups.values(), key=lambda g: tuple((value is None, value or "") for value in g.key))
    total = Group(())
    for group in ordered:
        total.add(group)
    return Report(currency, group_by, ordered, total)
