"""How memberships follow their customer's life cycle: merges move them to the survivor (a membership the
survivor already has in that campaign stays where it was), unmerges bring them back; erasure keeps them."""

from __future__ import annotations

from services.campaign.campaigns import service
from services.campaign.campaigns.tables import CampaignMember
from shared.lifecycle import Follower

FOLLOWER = Follower(CampaignMember, "member", moved=service.follow_customer, anonymise=service.erase_customer,
                    movable=service.movable_members)
