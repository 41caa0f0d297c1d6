"""The tenant's sales policy as plain values, and its defaults. Plain Python.

- ``currency``: the tenant's own currency, in which credit exposure is summed and compared
  (default EUR). Every amount in another currency is converted at the day's dated rate.
- ``default_credit_limit`` (in that currency): the limit of a customer whose profile sets
  none. None (the default): such a customer is not credit-checked, as in most CRMs and
  ERPs a limit is something a credit controller sets; a tenant that wants every customer
  checked sets a default (0 holds every order of an unrated customer for approval).
- ``invoice_from``: ``shipped`` (default: invoice what left the warehouse) or ``confirmed``
  (invoice in advance, e.g. for prepayment).
- ``payment_terms_days``: an invoice's due date is its issue date plus these (default 30).
- ``dunning_levels``: the steps of collecting an unpaid invoice, by days from its due date
  (``collections.rules``, whose ``DEFAULT_LEVELS`` apply when a tenant set none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from services.sales.collections.rules import DEFAULT_LEVELS, Level

InvoiceFrom = Literal["confirmed", "shipped"]
# The order statuses an invoice may be issued in, per policy.
INVOICEABLE: dict[str, frozenset[str]] = {
    "confirmed": frozenset({"confirmed", "shipped", "delivered"}),
    "shipped": frozenset({"shipped", "delivered"}),
}
MAX_TERMS_DAYS = 365


@dataclass(frozen=True)
class Policy:
    currency: str
    default_credit_limit: Decimal | None
    invoice_from: InvoiceFrom
    payment_terms_days: int
    version: int
    updated_at: datetime | None
    dunning_levels: tuple[Level, ...] = DEFAULT_LEVELS


DEFAULT = Policy(currency="EUR", default_credit_limit=None, invoice_from="shipped", payment_terms_days=30, version=0,
                 updated_at=None)
