"""The campaign service: audiences, campaigns, their members and their responses (sends and ROI grow here next)."""

from __future__ import annotations

from fastapi import FastAPI

from services.campaign.audiences import routes as audiences
from services.campaign.campaigns import routes as campaigns
from services.campaign.responses import routes as responses
from services.campaign.settings import CampaignSettings
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("campaign", CampaignSettings)
    return create_service_app(
        settings=settings,
        title="OneView CRM: campaign service",
        description="Marketing campaigns and the customers they target, from the unified view.",
        routers=(audiences.router, campaigns.router, responses.router),
    )
