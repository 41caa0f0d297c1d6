"""How a payment is allocated to invoices. Plain Python.

A payment names its allocations, or leaves them to the rule: **oldest first** (earliest due
date, then issue date, then number), each invoice taking what it still owes until the
payment is spent. An allocation is to one of the payer's own open invoices, in the payment's
currency, at most what the invoice still owes. What the allocations leave over is an
**over-payment**: refused unless the payment asks for it (``keep_excess_as_credit``), then
kept as the customer's credit, which pays the customer's next invoices in that currency as
they are issued, oldest payment first (``spread``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.errors import InvalidInput


@dataclass(frozen=True)
class OpenInvoice:
    invoice_id: uuid.UUID
    open_amount: Decimal


def oldest_first(amount: Decimal, invoices: Sequence[OpenInvoice]) -> list[tuple[uuid.UUID, Decimal]]:
    """``invoices`` already oldest first: each takes what it owes until the amount is spent."""
    return spread(amount, [(invoice.invoice_id, invoice.open_amount) for invoice in invoices])


def spread(amount: Decimal, takers: Sequence[tuple[uuid.UUID, Decimal]]) -> list[tuple[uuid.UUID, Decimal]]:
    """``amount`` over ``(id, at most)`` takers in their order, until it is spent: a payment over the invoices it
    pays, or an invoice's debt over the payments whose credit pays it."""
    left = amount
    taken = []
    for taker, most in takers:
        if left <= 0:
            break
        part = min(left, most)
        if part > 0:
            taken.append((taker, part))
            left -= part
    return taken


def check_allocations(asked: Sequence[tuple[uuid.UUID, Decimal]], open_of: Mapping[uuid.UUID, Decimal]) -> None:
    """Each allocation to an invoice that is open and the payer's (``open_of``), at most what it owes, once."""
    seen: set[uuid.UUID] = set()
    for index, (invoice_id, amount) in enumerate(asked):
        if invoice_id in seen:
            raise InvalidInput.on(f"allocations[{index}].invoice_id", "named twice")
        seen.add(invoice_id)
        if invoice_id not in open_of:
            raise InvalidInput.on(f"allocations[{index}].invoice_id",
                                  "not an open invoice of this customer in the payment's currency")
        if amount == 0:
            raise InvalidInput.on(f"allocations[{index}].amount", "must be more than 0")
        if amount > open_of[invoice_id]:
            raise InvalidInput.on(f"allocations[{index}].amount",
                                  f"the invoice owes {format(open_of[invoice_id], 'f')}")


def check_excess(amount: Decimal, allocated: Decimal, keep_excess: bool) -> Decimal:
    """What is left over after the allocations: refused (422 naming amount) unless asked to keep it as credit."""
    if allocated > amount:
        raise InvalidInput.on("allocations", f"they add up to {format(allocated, 'f')}, more than the payment")
    excess = amount - allocated
    if excess > 0 and not keep_excess:
        raise InvalidInput.on("amount", f"{format(excess, 'f')} more than the invoices it pays owe; send "
                                        "keep_excess_as_credit: true to keep it as the customer's credit")
    return excess
