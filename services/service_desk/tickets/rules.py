"""The ticket life cycle's rules: transitions and the reopen window, what a comment does to the status,
which merges are allowed, and what an agent sees of the customer. Plain Python, tested directly."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
OPEN_STATUSES = frozenset(TRANSITIONS) - DONE_STATUSES
# The event a status change publishes: resolving is "solved" in the contract's event types.
DONE_ACTIONS = {"resolved": "solved", "closed": "closed"}
# Fields a PATCH may set to null (references and routing); the others cannot be cleared.
CLEARABLE = frozenset({"queue_id", "assignee_id", "order_id", "product_id", "language"})
NEW_TICKET_HINT = "Open a new ticket instead."


def within_reopen_window(resolved_at: datetime | None, now: datetime, window_days: int) -> bool:
    """Whether a resolved ticket may still be reopened: up to ``window_days`` after its resolution."""
    return resolved_at is not None and now - resolved_at <= timedelta(days=window_days)


def allowed_moves(current: str, *, resolved_at: datetime | None = None, now: datetime | None = None,
                  window_days: int | None = None) -> list[str]:
    """Where a ticket in ``current`` may go now; without a window (``window_days`` None) reopening is not
    limited in time."""
    moves = set(TRANSITIONS[current])
    if current == "resolved" and window_days is not None and now is not None \
            and not within_reopen_window(resolved_at, now, window_days):
        moves.discard("open")
    return sorted(moves)


def check_transition(current: str, new: str, *, resolved_at: datetime | None = None, now: datetime | None = None,
                     window_days: int | None = None) -> None:
    """A 409 naming the allowed moves (and why, when it is the reopen window or a closed ticket)."""
    if current == new:
        return
    allowed = allowed_moves(current, resolved_at=resolved_at, now=now, window_days=window_days)
    if new in allowed:
        return
    errors = [{"field": "status", "message": f"allowed: {', '.join(allowed) if allowed else 'nothing'}"}]
    if current == "closed":
        raise Conflict(f"The ticket is closed, which is final: it cannot become {new}. {NEW_TICKET_HINT}",
                       errors=errors)
    if current == "resolved" and new == "open":
        raise Conflict(f"The ticket was resolved more than {window_days} days ago, so it can no longer be "
                       f"reopened. {NEW_TICKET_HINT} Allowed: {', '.join(allowed)}.", errors=errors)
    raise Conflict(f"A {current} ticket cannot become {new}. Allowed: {', '.join(allowed)}.", errors=errors)


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """A PATCH's fields, refusing null for those that cannot be cleared; tags deduplicated in order."""
    for name, value in patch.items():
        if value is None and name not in CLEARABLE:
            raise InvalidInput.on(name, "cannot be cleared")
    fields = dict(patch)
    if "tags" in fields:
        fields["tags"] = clean_tags(fields["tags"])
    return fields


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Each tag once, in the order given."""
    return list(dict.fromkeys(tags))


def change_ticket(current: dict[str, Any], fields: dict[str, Any], *, now: datetime | None = None,
                  window_days: int | None = None) -> dict[str, Any]:
    """Check a partial update against the rules; returns ``{field: {old, new}}`` of what really changes.
    ``current`` may carry ``resolved_at`` for the reopen window."""
    if "status" in fields:
        check_transition(current["status"], fields["status"], resolved_at=current.get("resolved_at"), now=now,
                         window_days=window_days)
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


# --- comments ------------------------------------------------------------------------------


def status_after_comment(status: str, *, visibility: str, author_type: str, resolved_at: datetime | None,
                         now: datetime, window_days: int) -> str | None:
    """The status a comment moves the ticket to (None: it stays). A closed ticket takes no comment.

    An internal note is never a response and never moves anything; a system comment (e.g. an auto-reply)
    neither. The first public agent reply opens a new ticket; the customer answering a ticket that waits
    for them, or writing again within the reopen window of a resolution, opens it."""
    if status == "closed":
        raise Conflict(f"The ticket is closed, which is final: it takes no more comments. {NEW_TICKET_HINT}")
    if visibility != "public":
        return None
    if author_type == "agent" and status == "new":
        return "open"
    if author_type == "customer":
        if status == "pending_customer":
            return "open"
        if status == "resolved":
            if not within_reopen_window(resolved_at, now, window_days):
                raise Conflict(f"The ticket was resolved more than {window_days} days ago and cannot be reopened "
                               f"by a comment. {NEW_TICKET_HINT}")
            return "open"
    return None


# --- merge ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSide:
    """What a merge checks of each ticket."""

    id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    merged_into_id: uuid.UUID | None


def check_merge(duplicate: MergeSide, survivor: MergeSide) -> None:
    """Only duplicates of the same customer merge, into a ticket that is still alive."""
    if duplicate.id == survivor.id:
        raise Conflict("A ticket cannot be merged into itself.")
    if duplicate.merged_into_id is not None:
        raise Conflict(f"The ticket is already merged into {duplicate.merged_into_id}.")
    if duplicate.status == "closed":
        raise Conflict("The ticket is closed, which is final: it cannot be merged.")
    if duplicate.customer_id != survivor.customer_id:
        raise Conflict("Only tickets of the same customer can be merged; these belong to different customers.")
    if survivor.merged_into_id is not None:
        raise Conflict(f"The ticket to merge into is itself merged into {survivor.merged_into_id}; merge into "
                       "that one instead.")
    if survivor.status == "closed":
        raise Conflict("The ticket to merge into is closed, which is final.")


# --- the agent's context -------------------------------------------------------------------

UNAVAILABLE = ("The customer's unified view has not reached the service desk (not replicated yet, or the "
               "customer was erased).")


def _path(document: Any, *names: str) -> Any:
    for name in names:
        if not isinstance(document, dict):
            return None
        document = document.get(name)
    return document


def _first(document: dict[str, Any], *paths: tuple[str, ...]) -> Any:
    for path in paths:
        found = _path(document, *path)
        if found is not None:
            return found
    return None


def _money(value: Any) -> list[dict[str, str]] | None:
    """Per-currency totals as the view publishes them; anything else is left out rather than guessed."""
    if not isinstance(value, list):
        return None
    return [{"amount": str(m["amount"]), "currency": str(m["currency"])} for m in value
            if isinstance(m, dict) and "amount" in m and "currency" in m]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def view_summary(view: dict[str, Any] | None, view_version: int | None) -> dict[str, Any]:
    """What the agent sees of the customer's unified view (``None``: no replica). A KPI the view does not
    carry (no service publishes its facts yet) is None, never zero."""
    available = view is not None
    view = view if view is not None else {}
    kpis = view.get("kpis") if isinstance(view.get("kpis"), dict) else {}
    return {
        "available": available, "reason": None if available else UNAVAILABLE,
        "view_version": view_version if available else None,
        "value_tier": _str(_first(view, ("profile", "value_tier"), ("profile", "classification", "value_tier"),
                                  ("classification", "value_tier"))),
        "customer_group": _str(_first(view, ("profile", "customer_group"),
                                      ("profile", "classification", "customer_group"),
                                      ("classification", "customer_group"))),
        "lifetime_value": _money(kpis.get("lifetime_value")),
        "open_orders": _int(kpis.get("open_orders")),
        "open_orders_value": _money(kpis.get("open_orders_value")),
        "open_receivables": _money(kpis.get("open_receivables")),
        "overdue_invoices": _int(kpis.get("overdue_invoices")),
        "open_tickets": _int(kpis.get("open_tickets")),
        "open_sla_breaches": _int(kpis.get("open_sla_breaches")),
        "csat_last": _int(kpis.get("csat_last")),
        "csat_average": _number(kpis.get("csat_average")),
        "last_service_contact": _str(kpis.get("last_service_contact")),
        "churn_risk": _object(kpis.get("churn_risk")),
        "next_best_action": _object(kpis.get("next_best_action")),
        "last_contact": _object(kpis.get("last_contact")),
        "as_of": _str(view.get("as_of")),
    }
