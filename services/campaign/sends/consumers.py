"""How sends follow their customer's life cycle: a merge gives them to the survivor, an unmerge gives them back
(each announced as moved, never sent again); an erasure keeps their outcome and drops the address."""

from __future__ import annotations

from services.campaign.sends import service
from services.campaign.sends.tables import CampaignSend
from shared.lifecycle import Follower

FOLLOWER = Follower(CampaignSend, "send", moved=service.follow_customer, anonymise=service.erase_customer)
