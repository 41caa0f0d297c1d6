"""Classification: customer groups from tenant rules, value tiers from where a customer's value ranks.

Plain Python, tested directly.

* **Groups.** Rules are evaluated in order; the first whose conditions all hold names
  the group; none matching gives the default group. A condition is
  ``{"field", "op", "value"}`` over a profile attribute (``kind``, ``country``,
  ``region``, ``industry``, ``employees``, ``annual_revenue``, ``lifetime_value``,
  ``tags``, ``preferred_language``, ``owner``, or ``custom.<name>``).
* **Tiers.** Customers are ranked by value (highest first); each tier takes its share
  of all customers (Pareto default: A the top 20%, B the next 30%, C the rest).
  Equal values share the better tier, and a customer without value (zero) is always
  in the last tier. A full evaluation also yields each tier's *cut-off* (the lowest
  value that reached it), so a single customer written between two full evaluations
  is placed without ranking everybody again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import InvalidInput

DEFAULT_GROUP = "unclassified"
DEFAULT_TIERS: list[dict[str, Any]] = [{"tier": "A", "share": 0.2}, {"tier": "B", "share": 0.3}, {"tier": "C", "share": 0.5}]
FIELDS = ("kind", "country", "region", "industry", "employees", "annual_revenue", "lifetime_value", "tags",
          "preferred_language", "owner", "preferred_currency")
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


# --- tiers --------------------------------------------------------------------------------------


def value_of(state: dict[str, Any]) -> Decimal:
    return _number(state.get("lifetime_value")) or Decimal(0)


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


def classify(state: dict[str, Any], settings: dict[str, Any]) -> dict[str, str]:
    """Group and tier of one customer, from the tenant's settings (rules, tiers and last cut-offs)."""
    return {
        "customer_group": group_of(state, settings["rules"], settings["default_group"]),
        "value_tier": tier_of(value_of(state), settings["tiers"], settings["cutoffs"]),
    }
