"""What the campaign service runs besides HTTP: its consumers and periodic jobs, and the checks of its replica."""

from __future__ import annotations

from fastapi import FastAPI

from services.campaign import contract
from services.campaign.audiences.jobs import AUDIENCE_REFRESH
from services.campaign.customers import consumers as customers
from services.campaign.customers.repository import REPLICA
from services.campaign.campaigns import consumers as campaigns
from services.campaign.campaigns.jobs import CAMPAIGN_START
from services.campaign.outcomes import consumers as outcomes
from services.campaign.responses import consumers as responses
from services.campaign.responses.jobs import CONSENT_SYNC
from services.campaign.sends import consumers as sends
from services.campaign.sends.jobs import CAMPAIGN_SEND
from services.campaign.settings import CampaignSettings
from shared.consumer import ConsumerSpec
from shared.jobs import PeriodicJob
from shared.settings import load_settings
from shared.worker import create_worker_app, run_worker

CONSUMERS: list[ConsumerSpec] = [
    customers.VIEW_REPLICA,
    customers.following([campaigns.FOLLOWER, responses.FOLLOWER, sends.FOLLOWER, outcomes.LEAD_FOLLOWER,
                         outcomes.OPPORTUNITY_FOLLOWER]),
    outcomes.SALES_OUTCOMES,
]
JOBS: tuple[PeriodicJob, ...] = (CONSENT_SYNC, AUDIENCE_REFRESH, CAMPAIGN_START, CAMPAIGN_SEND)


# The projection is the view replica: its hash proves a rebuild identical (`crm replay`), its
# states are checked against the master view (`crm check-consistency`).
digest = REPLICA.digest
states = REPLICA.states


def create_worker() -> FastAPI:
    """The worker process: ``python -m services.campaign.worker`` (or ``uvicorn --factory``)."""
    return create_worker_app(settings=load_settings("campaign", CampaignSettings), consumers=CONSUMERS, jobs=JOBS,
                             topics=contract.TOPICS)


if __name__ == "__main__":
    run_worker(create_worker)
