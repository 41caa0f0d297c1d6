"""How loyalty follows its customer's life cycle: a merge moves the duplicate's lots still holding points to the
survivor (its history stays), an unmerge takes back what is left of them; an erasure leaves the ledger, which
holds points and dates, no personal data."""

from __future__ import annotations

from services.sales.loyalty import service
from services.sales.loyalty.tables import LoyaltyMovement
from shared.lifecycle import Follower, nothing_personal

FOLLOWER = Follower(LoyaltyMovement, "loyalty_lot", moved=service.follow_customer, anonymise=nothing_personal,
                    movable=service.movable_lots)
