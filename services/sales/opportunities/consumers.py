"""How opportunities follow their customer's life cycle: merges re-point them to the survivor, unmerges
bring them back, erasure anonymises them."""

from __future__ import annotations

from services.sales.opportunities import service
from services.sales.opportunities.tables import Opportunity
from shared.lifecycle import Follower

FOLLOWER = Follower(Opportunity, "opportunity", moved=service.follow_customer, anonymise=service.erase_customer)
