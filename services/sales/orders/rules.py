"""The rules of an order's life: its transitions, and what may come back. Plain Python.

**Lifecycle.** ``placed -> confirmed -> shipped -> delivered``; ``confirm`` runs the credit
check and may land in ``on_hold`` instead, from which only ``approve`` (``sales:approve``)
confirms; ``cancel`` is open until the goods leave (placed, on_hold, confirmed) and refused
once the order is invoiced (a credit note corrects an invoice, a cancellation does not).
Goods that were shipped may come back, by line, partly or wholly: an order whose every
shipped unit came back is ``returned``; a partial return leaves the status as it was.
``cancelled`` and ``returned`` are final. ``TRANSITIONS`` is the whole table; anything
outside it is a 409 naming what the order's status allows.

**Returns.** A line's return is at most what was shipped of it less what already came
back. Its value is the line's total pro rata, computed on the running total so that the
parts of a line returned in several goes add up exactly to the line's total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from shared.errors import Conflict, InvalidInput
from shared.types import minor_units

STATUSES = ("placed", "on_hold", "confirmed", "shipped", "delivered", "cancelled", "returned")
# action -> {from status: to status}; confirm lands in on_hold when the credit check says so.
TRANSITIONS: dict[str, dict[str, str]] = {
    "confirm": {"placed": "confirmed"},
    "approve": {"on_hold": "confirmed"},
    "ship": {"confirmed": "shipped"},
    "deliver": {"shipped": "delivered"},
    "cancel": {"placed": "cancelled", "on_hold": "cancelled", "confirmed": "cancelled"},
    "return": {"shipped": "shipped", "delivered": "delivered"},
}
# Confirmed orders (and what follows) count toward the customer's credit exposure until invoiced.
COMMITTED = frozenset({"confirmed", "shipped", "delivered"})
SHIPPED = frozenset({"shipped", "delivered", "returned"})

# How an order came, a closed set (profitability groups by it). An order made from a deal that a lead was
# converted into takes the channel its lead's source names, where the source names one plainly; anything
# else (an order placed directly, a lead from an import, an event or the API) came in direct.
CHANNELS = ("direct", "web", "partner", "campaign", "phone", "email", "retail")
LEAD_SOURCE_CHANNEL: dict[str, str] = {"web": "web", "campaign": "campaign", "partner": "partner",
                                       "referral": "partner", "phone": "phone", "email": "email",
                                       "retail": "retail"}


def channel_of(sent: str | None, lead_source: str | None) -> str:
    """The order's channel: as sent, else its lead's source's, else direct."""
    if sent is not None:
        return sent
    return LEAD_SOURCE_CHANNEL.get(lead_source or "", "direct")


def allowed_actions(status: str) -> list[str]:
    return [action for action, moves in TRANSITIONS.items() if status in moves]


def next_status(action: str, status: str) -> str:
    """Where ``action`` takes an order in ``status``; a 409 naming the allowed actions otherwise."""
    moves = TRANSITIONS[action]
    if status not in moves:
        allowed = allowed_actions(status)
        raise Conflict(f"The order is {status}; it cannot {action}. Allowed: "
                       f"{', '.join(allowed) if allowed else 'nothing (the order is final)'}.",
                       errors=[{"field": "status", "message": f"allowed: {', '.join(allowed)}"}])
    return moves[status]


def check_cancellable(invoiced: bool) -> None:
    if invoiced:
        raise Conflict("The order is invoiced; correct the invoice with a credit note instead of cancelling.")


def returned_quantities(line_count: int, returns: Sequence[Sequence[Mapping[str, Any]]]) -> list[Decimal]:
    """Per order line, what came back over all returns."""
    back = [Decimal(0)] * line_count
    for lines in returns:
        for line in lines:
            back[int(line["line"])] += Decimal(line["quantity"])
    return back


def value_of(line: Mapping[str, Any], quantity: Decimal, currency: str) -> Decimal:
    """What ``quantity`` units of an order line are worth: its total pro rata, in the currency's minor units."""
    with localcontext() as context:
        context.prec = 60
        exact = Decimal(line["line_total"]) * quantity / Decimal(line["quantity"])
        return exact.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def plan_return(order_lines: Sequence[Mapping[str, Any]], already: Sequence[Decimal],
                asked: Sequence[tuple[int, Decimal]], currency: str) -> list[dict[str, Any]]:
    """The return's lines with their values; 422 naming ``lines[i]`` for a line that is not the order's, named
    twice, or more than was shipped and not yet returned."""
    if not asked:
        raise InvalidInput.on("lines", "a return names at least one line")
    seen: set[int] = set()
    planned = []
    for index, (line, quantity) in enumerate(asked):
        if line >= len(order_lines):
            raise InvalidInput.on(f"lines[{index}].line", f"the order has {len(order_lines)} line(s)")
        if line in seen:
            raise InvalidInput.on(f"lines[{index}].line", "named twice")
        seen.add(line)
        shipped = Decimal(order_lines[line]["quantity"])
        left = shipped - already[line]
        if quantity > left:
            raise InvalidInput.on(f"lines[{index}].quantity",
                                  f"at most {format(left, 'f')} (shipped {format(shipped, 'f')}, "
                                  f"returned {format(already[line], 'f')})")
        amount = (value_of(order_lines[line], already[line] + quantity, currency)
                  - value_of(order_lines[line], already[line], currency))
        planned.append({"line": line, "product_id": order_lines[line]["product_id"], "quantity": format(quantity, "f"),
                        "amount": format(amount, "f")})
    return planned


def all_returned(order_lines: Sequence[Mapping[str, Any]], back: Sequence[Decimal]) -> bool:
    return all(Decimal(line["quantity"]) <= b for line, b in zip(order_lines, back, strict=True))
