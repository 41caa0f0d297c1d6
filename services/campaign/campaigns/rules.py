"""Campaign rules: the campaign life cycle, budgets and membership. Plain Python, tested directly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from shared.changes import changed_fields
from shared.errors import Conflict, InvalidInput
from shared.types import check_money

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "cancelled"}),
    "active": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
OPEN_FOR_MEMBERS = frozenset({"draft", "active"})


def check_budget(amount: Decimal, currency: str) -> Decimal:
    """A campaign's budget, checked by the money rule."""
    return check_money(amount, currency, "budget.amount")


def check_dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidInput.on("ends_on", "must not be before starts_on")


def check_transition(current: str, new: str) -> None:
    if current != new and new not in TRANSITIONS[current]:
        raise Conflict(f"A {current} campaign cannot become {new}.")


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH sets; the budget money object becomes amount and currency."""
    for name in ("name", "channel", "budget", "status"):
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    fields = dict(patch)
    if "budget" in fields:
        money = fields.pop("budget")
        fields["budget_amount"] = check_budget(Decimal(money["amount"]), money["currency"])
        fields["budget_currency"] = money["currency"]
    return fields


def change_campaign(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Check a partial update; returns ``{field: {old, new}}`` of what really changes."""
    if "status" in fields:
        check_transition(current["status"], fields["status"])
    check_dates(fields.get("starts_on", current.get("starts_on")), fields.get("ends_on", current.get("ends_on")))
    return changed_fields(current, fields)


def check_can_add_member(campaign_status: str) -> None:
    if campaign_status not in OPEN_FOR_MEMBERS:
        raise Conflict(f"A {campaign_status} campaign takes no new members.")
