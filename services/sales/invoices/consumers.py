"""How invoices follow their customer's life cycle: merges re-point them to the survivor, unmerges bring
them back; an erasure leaves them (they hold no personal data, and the books must keep them)."""

from __future__ import annotations

from services.sales.invoices import service
from services.sales.invoices.tables import Invoice
from shared.lifecycle import Follower, nothing_personal

FOLLOWER = Follower(Invoice, "invoice", moved=service.follow_customer, anonymise=nothing_personal)
