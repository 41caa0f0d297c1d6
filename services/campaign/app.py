"""The campaign service: audiences, campaigns and their members, sends and bounces, tracked links, responses."""

from __future__ import annotations

from fastapi import FastAPI

from services.campaign.audiences import routes as audiences
from services.campaign.campaigns import routes as campaigns
from services.campaign.reports import routes as reports
from services.campaign.responses import routes as responses
from services.campaign.sends import routes as sends
from services.campaign.simulations import routes as simulations
from services.campaign.settings import CampaignSettings
from services.campaign.tracking import routes as tracking
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("campaign", CampaignSettings)
    return create_service_app(
        settings=settings,
        title="OneView CRM: campaign service",
        description="Marketing campaigns and the customers they target, from the unified view.",
        routers=(audiences.router, sends.router, campaigns.router, responses.router, reports.router,
                 simulations.router),
        public_routers=(tracking.router,),
    )
