"""Audience rules: which fields of the unified view a rule may name, how each is compared, and whether a
customer's view matches. Plain Python, tested directly.

A rule tree is ``{"all": [...]}``, ``{"any": [...]}`` or ``{"not": [...]}`` (none of them) over conditions
``{"field", "op", "value"}`` and further groups. The fields are the view replica's (API.md, Campaign):

- text, compared case-insensitively: ``customer_group``, ``value_tier``, ``country``, ``region``,
  ``industry``; and ``consent.email``, ``consent.sms``, ``consent.phone`` (``opt_in``, ``opt_out``,
  ``unknown``: the customer master's current status, which the view carries);
- ``tags``, a set of texts;
- numbers: ``churn_risk`` (the view's score, 0-100), ``open_tickets``, ``last_contact_days`` (whole
  days from the view's last contact to the moment of evaluation; a customer never contacted is
  further away than any number of days);
- money: ``lifetime_value``, compared in the currency the rule names (the view keeps paid money per
  currency and never adds currencies; a customer with nothing in that currency has zero in it).

A rule is checked once, when it is stored (``check``), and compiled into a ``Predicate`` that
evaluates a view without looking anything up again (``compile_rules``): a changed customer is
re-evaluated against every audience of its tenant on each view version.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.errors import InvalidInput
from shared.types import CURRENCY_CODES

TEXT_FIELDS = ("customer_group", "value_tier", "country", "region", "industry")
CONSENT_FIELDS = ("consent.email", "consent.sms", "consent.phone")
SET_FIELDS = ("tags",)
NUMBER_FIELDS = ("churn_risk", "open_tickets", "last_contact_days")
MONEY_FIELDS = ("lifetime_value",)
FIELDS = (*TEXT_FIELDS, *CONSENT_FIELDS, *SET_FIELDS, *NUMBER_FIELDS, *MONEY_FIELDS)
# Fields whose value changes with the clock, not only with a new view version: an audience using one
# is re-evaluated by the refresh job as well.
CLOCK_FIELDS = frozenset({"last_contact_days"})

TEXT_OPS = ("eq", "ne", "in", "not_in")
SET_OPS = ("contains", "not_contains", "contains_any", "contains_all")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
OPS = tuple(dict.fromkeys((*TEXT_OPS, *SET_OPS, *NUMBER_OPS)))
CONSENT_STATUSES = ("opt_in", "opt_out", "unknown")
GROUPS = ("all", "any", "not")
MAX_DEPTH = 2
MAX_CONDITIONS = 100

# A view as the rules see it: field name -> its value (text, set of texts, number, money per currency).
Values = dict[str, Any]
Predicate = Callable[[Values], bool]


@dataclass(frozen=True)
class Checked:
    """A stored rule tree and what the service needs to know of it."""

    rules: dict[str, Any]
    clock_dependent: bool


def check(rules: dict[str, Any]) -> Checked:
    """The rule tree as it will be stored, or a 422 naming the first condition at fault (``rules.all[0].value``)."""
    fields: set[str] = set()
    count = [0]
    normalised = _check_group(rules, "rules", 1, fields, count)
    return Checked(rules=normalised, clock_dependent=bool(fields & CLOCK_FIELDS))


def _check_group(group: Any, path: str, depth: int, fields: set[str], count: list[int]) -> dict[str, Any]:
    if not isinstance(group, dict) or len(group) != 1 or next(iter(group)) not in GROUPS:
        raise InvalidInput.on(path, "a group is one of {\"all\": [...]}, {\"any\": [...]} or {\"not\": [...]}")
    if depth > MAX_DEPTH:
        raise InvalidInput.on(path, f"groups nest at most {MAX_DEPTH} deep")
    (kind, items), = group.items()
    if not isinstance(items, list) or not items:
        raise InvalidInput.on(f"{path}.{kind}", "a group holds at least one condition or group")
    checked = []
    for index, item in enumerate(items):
        where = f"{path}.{kind}[{index}]"
        if isinstance(item, dict) and "field" in item:
            count[0] += 1
            if count[0] > MAX_CONDITIONS:
                raise InvalidInput.on(where, f"an audience has at most {MAX_CONDITIONS} conditions")
            checked.append(_check_condition(item, where))
            fields.add(item["field"])
        else:
            checked.append(_check_group(item, where, depth + 1, fields, count))
    return {kind: checked}


def _check_condition(condition: dict[str, Any], path: str) -> dict[str, Any]:
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if field not in FIELDS:
        raise InvalidInput.on(f"{path}.field", f"one of {', '.join(FIELDS)}")
    allowed = _ops_of(field)
    if op not in allowed:
        raise InvalidInput.on(f"{path}.op", f"{field} is compared with {', '.join(allowed)}")
    return {"field": field, "op": op, "value": _check_value(field, op, value, f"{path}.value")}


def _ops_of(field: str) -> tuple[str, ...]:
    if field in SET_FIELDS:
        return SET_OPS
    if field in NUMBER_FIELDS or field in MONEY_FIELDS:
        return NUMBER_OPS
    return TEXT_OPS


def _check_value(field: str, op: str, value: Any, path: str) -> Any:
    many = op in ("in", "not_in", "contains_any", "contains_all")
    if field in MONEY_FIELDS:
        return _money_value(value, path)
    if field in NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidInput.on(path, f"{field} is compared with a finite number")
        return value
    if many:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise InvalidInput.on(path, f"{op} takes a non-empty list of texts")
        texts = value
    else:
        if not isinstance(value, str) or not value:
            raise InvalidInput.on(path, f"{op} takes one text")
        texts = [value]
    if field in CONSENT_FIELDS and any(v not in CONSENT_STATUSES for v in texts):
        raise InvalidInput.on(path, f"a consent status is one of {', '.join(CONSENT_STATUSES)}")
    return value


def _money_value(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("currency"), str):
        raise InvalidInput.on(path, "lifetime_value is compared with money: {amount, currency}")
    if value["currency"] not in CURRENCY_CODES:
        raise InvalidInput.on(f"{path}.currency", "an ISO 4217 currency code")
    try:
        amount = Decimal(str(value.get("amount")))
    except (InvalidOperation, ValueError):
        raise InvalidInput.on(f"{path}.amount", "a decimal amount") from None
    if not amount.is_finite():
        raise InvalidInput.on(f"{path}.amount", "a decimal amount")
    return {"amount": str(amount), "currency": value["currency"]}


# --- evaluation ---------------------------------------------------------------------------------


def compile_rules(rules: dict[str, Any] | None) -> Predicate:
    """A checked rule tree as one function of a view's values; no rules match no one (a static list's audience)."""
    if not rules:
        return lambda values: False
    return _compile_group(rules)


def _compile_group(group: dict[str, Any]) -> Predicate:
    (kind, items), = group.items()
    parts = [_compile_condition(item) if "field" in item else _compile_group(item) for item in items]
    if kind == "all":
        return lambda values: all(part(values) for part in parts)
    if kind == "any":
        return lambda values: any(part(values) for part in parts)
    return lambda values: not any(part(values) for part in parts)


def _compile_condition(condition: dict[str, Any]) -> Predicate:
    field, op, value = condition["field"], condition["op"], condition["value"]
    if field in MONEY_FIELDS:
        currency, amount = value["currency"], Decimal(value["amount"])
        return _number(op, amount, lambda values: values[field].get(currency, Decimal(0)))
    if field in NUMBER_FIELDS:
        return _number(op, Decimal(str(value)), lambda values: values[field])
    if field in SET_FIELDS:
        wanted = {v.casefold() for v in (value if isinstance(value, list) else [value])}
        return _set(op, wanted, field)
    return _text(op, {v.casefold() for v in (value if isinstance(value, list) else [value])}, field)


def _number(op: str, target: Decimal, read: Callable[[Values], Decimal | None]) -> Predicate:
    def compare(values: Values) -> bool:
        have = read(values)
        if have is None:  # a number the view does not hold: only ever "further than" (last contact)
            return op in ("gt", "gte", "ne")
        return {"eq": have == target, "ne": have != target, "gt": have > target, "gte": have >= target,
                "lt": have < target, "lte": have <= target}[op]
    return compare


def _set(op: str, wanted: set[str], field: str) -> Predicate:
    if op == "contains" or op == "contains_any":
        return lambda values: not wanted.isdisjoint(values[field])
    if op == "not_contains":
        return lambda values: wanted.isdisjoint(values[field])
    return lambda values: wanted <= values[field]


def _text(op: str, wanted: set[str], field: str) -> Predicate:
    if op in ("eq", "in"):
        return lambda values: values[field] in wanted
    return lambda values: values[field] not in wanted


def values_of(view: dict[str, Any], now: datetime) -> Values:
    """What the rules read of one published view, normalised once for every audience evaluated against it."""
    profile = view.get("profile") or {}
    kpis = view.get("kpis") or {}
    values: Values = {name: _folded(profile.get(name)) for name in TEXT_FIELDS}
    consent = profile.get("consent") or {}
    for name in CONSENT_FIELDS:
        values[name] = str(consent.get(name.split(".", 1)[1]) or "unknown").casefold()
    values["tags"] = {str(tag).casefold() for tag in profile.get("tags") or []}
    churn = kpis.get("churn_risk") or {}
    values["churn_risk"] = _decimal(churn.get("score")) if isinstance(churn, dict) else None
    values["open_tickets"] = _decimal(kpis.get("open_tickets")) or Decimal(0)
    values["last_contact_days"] = _days_since((kpis.get("last_contact") or {}).get("at"), now)
    values["lifetime_value"] = {str(m.get("currency")): _decimal(m.get("amount")) or Decimal(0)
                                for m in kpis.get("lifetime_value") or [] if isinstance(m, dict)}
    return values


def _folded(value: Any) -> str | None:
    return str(value).casefold() if value not in (None, "") else None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _days_since(at: Any, now: datetime) -> Decimal | None:
    if not at:
        return None
    try:
        then = datetime.fromisoformat(str(at))
    except ValueError:
        return None
    return Decimal((now - then).days)
