"""The ticket life cycle's rules. Plain Python, tested directly."""

from __future__ import annotations

from typing import Any

from shared.changes import changed_fields
from shared.errors import Conflict, InvalidInput

# Which status a ticket may move to from each status. A closed ticket is final:
# a customer who comes back gets a new ticket, so reporting on closed work stays true.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending_customer", "pending_third_party", "resolved", "closed"}),
    "open": frozenset({"pending_customer", "pending_third_party", "resolved", "closed"}),
    "pending_customer": frozenset({"open", "pending_third_party", "resolved", "closed"}),
    "pending_third_party": frozenset({"open", "pending_customer", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
DONE_STATUSES = frozenset({"resolved", "closed"})
# The event a status change publishes: resolving is "solved" in the contract's event types.
DONE_ACTIONS = {"resolved": "solved", "closed": "closed"}


def check_transition(current: str, new: str) -> None:
    if current != new and new not in TRANSITIONS[current]:
        raise Conflict(f"A {current} ticket cannot become {new}.")


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    for name, value in patch.items():
        if value is None:
            raise InvalidInput.on(name, "cannot be cleared")
    return dict(patch)


def change_ticket(current: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Check a partial update against the rules; returns ``{field: {old, new}}`` of what really changes."""
    if "status" in fields:
        check_transition(current["status"], fields["status"])
    return changed_fields(current, fields)


def event_action(old_status: str | None, new_status: str) -> str:
    """What the event says happened: created, solved, closed, reopened or updated."""
    if old_status is None:
        return "created"
    if old_status == new_status:
        return "updated"
    if new_status in DONE_STATUSES:
        return DONE_ACTIONS[new_status]
    if old_status in DONE_STATUSES:
        return "reopened"
    return "updated"
