"""How a payment is allocated to invoices. Plain Python.

A payment names its allocations, or leaves them to the rule: **oldest first** (earliest due
date, then issue date, then number), each invoice taking what it still owes until the
payment is spent. An allocation is to one of the payer's own open invoices, in the payment's
currency, at most what the invoice still owes. What the allocations leave over is an
**over-payment**: refused unless the payment asks for it (``keep_excess_as_credit``), then
kept as the customer's credit, which pays the customer's next invoices in that currency as
they are issued, oldest payment first (``credit_spent``).
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
    return _in_order(amount, [(invoice.invoice_id, invoice.open_amount) for invoice in invoices])


@dataclass(frozen=True)
class Credit:
    """What a payment kept over, left to spend."""

    payment_id: uuid.UUID
    available: Decimal


def credit_spent(owed: Decimal, credits: Sequence[Credit]) -> list[tuple[uuid.UUID, Decimal]]:
    """What of each payment's credit (``credits`` already oldest first) pays an invoice owing ``owed``."""
    return _in_order(owed, [(credit.payment_id, credit.available) for credit in credits])


def _in_order(amount: Decimal, takers: Sequence[tuple[uuid.UUID, Decimal]]) -> list[tuple[uuid.UUID, Decimal]]:
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
