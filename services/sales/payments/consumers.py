"""How payments follow their customer's life cycle: merges re-point them to the survivor, unmerges bring
them back; an erasure leaves them (they hold no personal data, and the books must keep them)."""

from __future__ import annotations

from services.sales.payments import service
from services.sales.payments.tables import Payment
from shared.lifecycle import Follower, nothing_personal

FOLLOWER = Follower(Payment, "payment", moved=service.follow_customer, anonymise=nothing_personal)
