"""The rules of invoices: their numbers, due dates and status. Plain Python.

**Numbers** are gap-free per tenant, series and year: ``INV-2026-000001`` for invoices,
``CN-2026-000001`` for credit notes, drawn from a counter row locked in the document's own
transaction (``repository.next_number``), so a document that is rolled back gives its number
back and two issued at once never share one.

**Open amount** = total - payments allocated - credit notes - written off, never below zero
(what a credit note takes beyond it is the customer's credit). An invoice is ``paid`` when
nothing is open, ``written_off`` when its bad debt was written off (with a reason), else
``open``; ``overdue`` is an open invoice past its due date on the day asked about.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from shared.errors import Conflict

SERIES = {"invoice": "INV", "credit_note": "CN"}


def number(series: str, year: int, sequence: int) -> str:
    return f"{SERIES[series]}-{year}-{sequence:06d}"


def due_on(issued_on: date, terms_days: int) -> date:
    return issued_on + timedelta(days=terms_days)


def open_amount(balance: Decimal) -> Decimal:
    return max(balance, Decimal(0))


def status_after(status: str, balance: Decimal) -> str:
    """A payment or credit note that leaves nothing open pays the invoice; one taken back (never) reopens it."""
    if status == "written_off":
        return status
    return "paid" if balance <= 0 else "open"


def shown_status(status: str, due: date, today: date) -> str:
    return "overdue" if status == "open" and due < today else status


def check_write_off(status: str, balance: Decimal) -> None:
    if status != "open" or balance <= 0:
        raise Conflict(f"The invoice is {status}; only an open invoice with an amount open is written off. "
                       "Allowed: nothing.")
