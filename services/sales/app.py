"""The sales service: opportunities (leads, orders and receivables grow here next)."""

from __future__ import annotations

from fastapi import FastAPI

from services.sales.opportunities import routes as opportunities
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("sales")
    return create_service_app(
        settings=settings,
        title="OneView CRM: sales service",
        description="Opportunities and the sales pipeline, for customers known from the unified view.",
        routers=(opportunities.router,),
    )
