"""How orders follow their customer's life cycle: merges re-point them to the survivor, unmerges bring
them back; an erasure leaves them (they hold no personal data, and the books must keep them)."""

from __future__ import annotations

from services.sales.orders import service
from services.sales.orders.tables import Order
from shared.lifecycle import Follower, nothing_personal

FOLLOWER = Follower(Order, "order", moved=service.follow_customer, anonymise=nothing_personal)
