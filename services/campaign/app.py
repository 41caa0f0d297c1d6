"""The campaign service: campaigns and their members (audiences, sends and ROI grow here next)."""

from __future__ import annotations

from fastapi import FastAPI

from services.campaign.campaigns import routes as campaigns
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("campaign")
    return create_service_app(
        settings=settings,
        title="OneView CRM: campaign service",
        description="Marketing campaigns and the customers they target, from the unified view.",
        routers=(campaigns.router,),
    )
