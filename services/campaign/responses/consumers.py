"""How responses follow their customer's life cycle: a merge gives them to the survivor, an unmerge gives them
back (each announced as moved); an erasure keeps them, for they name no one but by id."""

from __future__ import annotations

from services.campaign.responses import service
from services.campaign.responses.tables import CampaignResponse
from shared.lifecycle import Follower

FOLLOWER = Follower(CampaignResponse, "response", moved=service.follow_customer, anonymise=service.erase_customer)
