"""Classification: customer groups from tenant rules, value tiers from where a customer's value ranks.

Plain Python, tested directly.

* **Groups.** Rules are evaluated in order; the first whose conditions all hold names
  the group; none matching gives the default group. A condition is
  ``{"field", "op", "value"}`` over a profile attribute (``kind``, ``country``,
  ``region``, ``industry``, ``employees``, ``annual_revenue``, ``lifetime_value``,
  ``tags``, ``preferred_language``, ``owner``, or ``custom.<name>``) or over the
  customer's sales figures: ``won_deals`` (frequency), ``won_value`` (monetary),
  ``days_since_last_won`` (recency) and ``value`` (what tiers rank).
* **Value.** A customer's value is its lifetime value (an opening balance: what it was
  worth before or outside this system, e.g. imported from billing) plus, by the tenant's
  *value basis*, its **paid revenue** (``paid_revenue``, the default: what the sales
  service reports the customer paid and kept, with each payment and credit note) or the
  deals the sales service reported won (``won_deals``, for tenants that do not invoice
  here), in the tenant's value currency. Amounts in another currency are
  converted with the tenant's exchange rates; one without a rate does not count (and
  the classification reports that currency), because no rate is ever guessed. A tenant
  without a value currency works in one currency: amounts count as they are.
* **Tiers.** Customers are ranked by value (highest first); each tier takes its share
  of all customers (Pareto default: A the top 20%, B the next 30%, C the rest).
  Equal values share the better tier, and a customer without value (zero) is always
  in the last tier. A full evaluation also yields each tier's *cut-off* (the lowest
  value that reached it), so a single customer written between two full evaluations
  is placed without ranking everybody again.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.customer.contract import (
    CREDIT_NOTE_ISSUED,
    CREDIT_NOTE_MOVED,
    PAYMENT_APPLIED,
    PAYMENT_MOVED,
    PAYMENT_RECEIVED,
    CreditNoteReport,
    OpportunityReport,
    PaymentReport,
)
from shared.envelope import CloudEvent
from shared.errors import InvalidInput
from shared.types import minor_units

DEFAULT_GROUP = "unclassified"
DEFAULT_TIERS: list[dict[str, Any]] = [{"tier": "A", "share": 0.2}, {"tier": "B", "share": 0.3}, {"tier": "C", "share": 0.5}]
FIELDS = ("kind", "country", "region", "industry", "employees", "annual_revenue", "lifetime_value", "tags",
          "preferred_language", "owner", "preferred_currency", "won_deals", "won_value", "days_since_last_won",
          "paid_revenue", "value")
NO_SALES: dict[str, Any] = {"won_deals": 0, "won_value": [], "last_won_at": None}
VALUE_BASES = ("paid_revenue", "won_deals")
DEFAULT_VALUE_BASIS = "paid_revenue"
VALUE_PLACES = Decimal("0.0001")  # as the value column keeps it
OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists")
NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte")


# --- checking what a tenant sends -------------------------------------------------------------


def check_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors: list[dict[str, str]] = []
    for i, rule in enumerate(rules):
        for j, condition in enumerate(rule.get("when") or []):
            where = f"rules.{i}.when.{j}"
            name = condition.get("field", "")
            if name not in FIELDS and not (name.startswith("custom.") and len(name) > 7):
                errors.append({"field": f"{where}.field", "message": f"one of {', '.join(FIELDS)} or custom.<name>"})
            op = condition.get("op")
            if op not in OPERATORS:
                errors.append({"field": f"{where}.op", "message": f"one of {', '.join(OPERATORS)}"})
            elif op in ("in", "not_in") and not isinstance(condition.get("value"), list):
                errors.append({"field": f"{where}.value", "message": f"'{op}' needs a list"})
            elif op in NUMERIC_OPERATORS and _number(condition.get("value")) is None:
                errors.append({"field": f"{where}.value", "message": f"'{op}' needs a number"})
    if errors:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)
    return [{"group": r["group"], "when": list(r.get("when") or [])} for r in rules]


def check_tiers(tiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = [t["tier"] for t in tiers]
    if not tiers or len(set(names)) != len(names):
        raise InvalidInput.on("tiers", "give at least one tier, each with a distinct name")
    if any(not 0 < float(t["share"]) <= 1 for t in tiers):
        raise InvalidInput.on("tiers", "each share is a fraction of all customers, above 0 and at most 1")
    if not math.isclose(sum(float(t["share"]) for t in tiers), 1.0, abs_tol=1e-9):
        raise InvalidInput.on("tiers", "the shares must add up to 1")
    return [{"tier": t["tier"], "share": float(t["share"])} for t in tiers]


def check_exchange_rates(currency: str | None, rates: dict[str, Decimal]) -> dict[str, str]:
    """Rates as stored: value-currency units per unit of each other currency."""
    if rates and currency is None:
        raise InvalidInput.on("exchange_rates", "exchange rates need a value currency ('currency') to convert into")
    if currency is not None and currency in rates and rates[currency] != 1:
        raise InvalidInput.on(f"exchange_rates.{currency}", "the value currency converts into itself at 1")
    if any(rate <= 0 for rate in rates.values()):
        raise InvalidInput.on("exchange_rates", "each rate is a positive number")
    return {code: format(rate.normalize(), "f") for code, rate in sorted(rates.items()) if code != currency}


# --- groups -------------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dict):  # money
        value = value.get("amount")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _attribute(state: dict[str, Any], name: str) -> Any:
    if name.startswith("custom."):
        return (state.get("custom_fields") or {}).get(name[7:])
    return state.get(name)


def holds(condition: dict[str, Any], state: dict[str, Any]) -> bool:
    """Whether one condition holds for a customer; a missing attribute satisfies only ne / not_in."""
    op, expected = condition["op"], condition.get("value")
    actual = _attribute(state, condition["field"])
    if op == "exists":
        return (actual not in (None, [], "")) == bool(expected if expected is not None else True)
    if actual is None or actual == []:
        return op in ("ne", "not_in")
    if op == "contains":
        return expected in actual if isinstance(actual, list) else str(expected).lower() in str(actual).lower()
    if op in NUMERIC_OPERATORS:
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]
    if isinstance(actual, dict):
        actual = actual.get("amount")
    if op == "eq":
        return _same(actual, expected)
    if op == "ne":
        return not _same(actual, expected)
    matched = any(_same(actual, option) for option in expected or [])
    return matched if op == "in" else not matched


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return bool(actual == expected)


def group_of(state: dict[str, Any], rules: list[dict[str, Any]], default_group: str = DEFAULT_GROUP) -> str:
    for rule in rules:
        if all(holds(condition, state) for condition in rule["when"]):
            return str(rule["group"])
    return default_group


# --- sales figures and value -------------------------------------------------------------------


@dataclass(frozen=True)
class Deal:
    """An opportunity as one sales event reports it."""

    opportunity_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    amount: Decimal
    currency: str
    sequence: int
    at: datetime


def deal_from_event(event: CloudEvent) -> Deal | None:
    """The deal a ``crm.sales.opportunity.*`` event reports (about the customer it is keyed by); None for any other."""
    if not event.type.startswith("crm.sales.opportunity."):
        return None
    report = OpportunityReport.model_validate(event.data)
    return Deal(opportunity_id=uuid.UUID(report.opportunity_id), customer_id=uuid.UUID(event.subject),
                status=report.status, amount=report.amount.amount, currency=report.amount.currency,
                sequence=event.sequence, at=event.time)


@dataclass(frozen=True)
class PaidRevenue:
    """A customer's paid revenue as one payment or credit-note event reports it."""

    customer_id: uuid.UUID
    amounts: list[dict[str, str]]
    sequence: int


def paid_revenue_from_event(event: CloudEvent) -> PaidRevenue | None:
    """The paid revenue a payment or credit-note event reports; None for others, and for events from before
    the sales service reported it."""
    if event.type in (PAYMENT_RECEIVED.name, PAYMENT_APPLIED.name, PAYMENT_MOVED.name):
        report: PaymentReport | CreditNoteReport = PaymentReport.model_validate(event.data)
    elif event.type in (CREDIT_NOTE_ISSUED.name, CREDIT_NOTE_MOVED.name):
        report = CreditNoteReport.model_validate(event.data)
    else:
        return None
    if report.paid_revenue is None:
        return None
    amounts = [{"amount": format(m.amount.quantize(Decimal(1).scaleb(-minor_units(m.currency))), "f"),
                "currency": m.currency} for m in sorted(report.paid_revenue, key=lambda m: m.currency)]
    return PaidRevenue(uuid.UUID(event.subject), amounts, event.sequence)


def won_at(deal: Deal, known_status: str | None, known_won_at: datetime | None) -> datetime | None:
    """When a deal was won: the first report of it won; later reports (a merge re-pointing it) keep that time."""
    if deal.status != "won":
        return None
    return known_won_at if known_status == "won" and known_won_at is not None else deal.at


def sales_figures(deals: Iterable[tuple[str, Decimal, str, datetime | None]]) -> dict[str, Any]:
    """A customer's figures from its deals (status, amount, currency, won at): how many won, for how much, when last."""
    totals: dict[str, Decimal] = {}
    count, last = 0, None
    for status, amount, currency, when in deals:
        if status != "won":
            continue
        count += 1
        totals[currency] = totals.get(currency, Decimal(0)) + amount
        if when is not None and (last is None or when > last):
            last = when
    won_value = [{"amount": format(totals[c].quantize(Decimal(1).scaleb(-minor_units(c))), "f"), "currency": c}
                 for c in sorted(totals)]
    return {"won_deals": count, "won_value": won_value, "last_won_at": last}


def converted(money: dict[str, Any] | None, settings: dict[str, Any]) -> Decimal | None:
    """An amount in the value currency; zero for no money; None when its currency has no rate."""
    if not money:
        return Decimal(0)
    amount, value_currency = Decimal(str(money["amount"])), settings.get("currency")
    if value_currency is None or money["currency"] == value_currency:
        return amount
    rate = (settings.get("exchange_rates") or {}).get(money["currency"])
    return None if rate is None else amount * Decimal(rate)


def _total(amounts: Iterable[dict[str, Any] | None], settings: dict[str, Any]) -> Decimal:
    found = (converted(money, settings) for money in amounts)
    return sum((amount for amount in found if amount is not None), Decimal(0)).quantize(VALUE_PLACES)


def value_of(state: dict[str, Any], settings: dict[str, Any], sales: dict[str, Any] | None = None) -> Decimal:
    """Lifetime value plus paid revenue or won deals (the tenant's value basis), in the value currency (what the
    tiers rank)."""
    sales = sales or NO_SALES
    paid_basis = settings.get("value_basis", DEFAULT_VALUE_BASIS) == "paid_revenue"
    earned = (sales.get("paid_revenue") or []) if paid_basis else sales["won_value"]
    return _total([state.get("lifetime_value"), *earned], settings)


def unconverted(currencies: Iterable[str], settings: dict[str, Any]) -> list[str]:
    """The currencies among those in use whose amounts count for nothing, for want of a rate."""
    if settings.get("currency") is None:
        return []
    known = {settings["currency"], *(settings.get("exchange_rates") or {})}
    return sorted(set(currencies) - known)


def rule_facts(state: dict[str, Any], settings: dict[str, Any], sales: dict[str, Any] | None,
               now: datetime) -> dict[str, Any]:
    """What group rules see: the profile, and the sales figures as numbers in the value currency."""
    sales = sales or NO_SALES
    last = sales["last_won_at"]
    return state | {
        "won_deals": sales["won_deals"],
        "won_value": _total(sales["won_value"], settings),
        "days_since_last_won": (now - last).days if last is not None else None,
        "paid_revenue": _total(sales.get("paid_revenue") or [], settings),
        "value": value_of(state, settings, sales),
    }


# --- tiers --------------------------------------------------------------------------------------


def assign_tiers(values: Iterable[tuple[str, Decimal]], tiers: list[dict[str, Any]]) -> tuple[dict[str, str], list[str | None]]:
    """Tier of each customer (by id) from its rank by value, and the cut-off of each tier.

    A cut-off is the lowest value placed in that tier (as a decimal string), ``None``
    for the last tier and for any tier nobody reached.
    """
    ranked = sorted(values, key=lambda item: (-item[1], item[0]))
    total = len(ranked)
    boundaries: list[int] = []  # exclusive rank where each tier ends
    covered = 0.0
    for tier in tiers:
        covered += tier["share"]
        boundaries.append(min(total, math.ceil(round(covered * total, 9))))
    last = tiers[-1]["tier"]
    assigned: dict[str, str] = {}
    lowest: list[Decimal | None] = [None] * len(tiers)
    tier_index = 0
    previous_value: Decimal | None = None
    for rank, (customer_id, value) in enumerate(ranked):
        if value <= 0:
            assigned[customer_id] = last
            continue
        if value != previous_value:
            # Ties share the better tier: only a new, lower value may move on to the next tier.
            while tier_index < len(tiers) - 1 and rank >= boundaries[tier_index]:
                tier_index += 1
            previous_value = value
        assigned[customer_id] = tiers[tier_index]["tier"]
        lowest[tier_index] = value
    cutoffs = [None if v is None or i == len(tiers) - 1 else format(v, "f") for i, v in enumerate(lowest)]
    return assigned, cutoffs


def tier_of(value: Decimal, tiers: list[dict[str, Any]], cutoffs: list[str | None]) -> str:
    """Place one customer with the cut-offs of the last full evaluation."""
    if value > 0:
        for tier, cutoff in zip(tiers[:-1], cutoffs, strict=False):
            if cutoff is not None and value >= Decimal(cutoff):
                return str(tier["tier"])
    return str(tiers[-1]["tier"])


def classify(state: dict[str, Any], settings: dict[str, Any], sales: dict[str, Any] | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """Group, tier and value of one customer (the columns that hold them), from the tenant's settings
    (rules, tiers, last cut-offs, value currency and rates) and the customer's sales figures."""
    facts = rule_facts(state, settings, sales, now or datetime.now(UTC))
    return {
        "customer_group": group_of(facts, settings["rules"], settings["default_group"]),
        "value_tier": tier_of(facts["value"], settings["tiers"], settings["cutoffs"]),
        "value_amount": facts["value"],
    }


def depends_on_time(rules: list[dict[str, Any]]) -> bool:
    """Whether a group can change with the clock alone (a recency condition), facts unchanged."""
    return any(condition["field"] == "days_since_last_won" for rule in rules for condition in rule["when"])


def moved(previous: dict[str, Any], classification: dict[str, Any]) -> bool:
    """Whether a customer's group or tier changed (a changed value alone is not announced)."""
    return any(previous[name] != classification[name] for name in ("customer_group", "value_tier"))
