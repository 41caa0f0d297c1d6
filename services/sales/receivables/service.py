"""Receivables ageing at any as-of day, per customer, owner or region.

- **As of a day**: by the dates the records keep (``repository``): invoices issued by then,
  less payments received, credit notes issued and write-offs made by then. So the report of
  a past day is the same later, except for a payment keyed in afterwards with an earlier
  ``received_on`` (the value date governs, as in a ledger).
- **Owner**: the owner of the won deal the invoiced order came from. An order placed
  directly (no deal) has no owner: its invoices are in the ``null`` group, not guessed.
- **Region**: the customer's region as the sales replica holds it today, not the region a
  deal recorded: every invoice has a customer, not every order a deal, and receivables are
  chased by whoever holds the customer's region now. A customer the replica does not know
  (erased) is in the ``null`` group.
- **Money**: per currency, and converted into the tenant's currency at the as-of day's rate
  (``rules``). Reads only; nothing is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from services.sales.exchange_rates.service import rate_book
from services.sales.receivables import repository, rules
from services.sales.sales_policy import service as sales_policy


def receivables(session: Session, tenant: str, *, as_of: date, group_by: rules.GroupBy) -> rules.Report:
    rules.check_as_of(as_of)
    rows = repository.ageing_rows(session, tenant, as_of, group_by)
    currency = sales_policy.policy(session, tenant).currency
    others = sorted({row.currency for row in rows} - {currency})
    book = rate_book(session, tenant, currency, others, until=as_of) if others else None

    def rate_of(code: str) -> Decimal | None:
        if code == currency:
            return Decimal(1)
        return book.rate_on(code, currency, as_of) if book is not None else None

    return rules.report(rows, currency, rate_of)
