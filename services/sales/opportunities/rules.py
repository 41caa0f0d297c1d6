"""The opportunity pipeline's rules. Plain Python, tested directly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.errors import Conflict, InvalidInput
from shared.types import check_money

# Default win probability of each stage, in pipeline order.
STAGES: dict[str, int] = {
    "prospecting": 10,
    "qualification": 20,
    "proposal": 50,
    "negotiation": 75,
    "closed_won": 100,
    "closed_lost": 0,
}
STATUS_OF_CLOSED_STAGE = {"closed_won": "won", "closed_lost": "lost"}


def status_of(stage: str) -> str:
    """``open``, ``won`` or ``lost``."""
    return STATUS_OF_CLOSED_STAGE.get(stage, "open")


def probability_of(stage: str) -> int:
    return STAGES[stage]


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """An opportunity's amount, checked by the money rule."""
    return check_money(amount, currency, "amount.amount")


def check_stage_change(current: str, new: str) -> None:
    """A closed deal stays closed: reopening it would rewrite won/lost history."""
    if current != new and status_of(current) != "open":
        raise Conflict(f"The opportunity is closed ({current}); it cannot move to {new}.")


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH sets: the money object becomes amount and currency; required fields can't be cleared."""
    for name in ("name", "amount", "stage"):
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    fields = dict(patch)
    if "amount" in fields:
        money = fields.pop("amount")
        fields["amount"] = check_amount(Decimal(money["amount"]), money["currency"])
        fields["currency"] = money["currency"]
    return fields


def change_opportunity(stage: str, current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Check a partial update against the rules; returns ``{field: {old, new}}`` of what really changes."""
    if "stage" in fields:
        check_stage_change(stage, fields["stage"])
    return {name: {"old": current.get(name), "new": value} for name, value in fields.items() if current.get(name) != value}


def event_action(old_status: str | None, new_status: str) -> str:
    """What the event says happened: created, won, lost or updated."""
    if old_status is None:
        return "created"
    if old_status != new_status and new_status in ("won", "lost"):
        return new_status
    return "updated"
