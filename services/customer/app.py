"""The customer service: the customer master and the unified customer view."""

from __future__ import annotations

from fastapi import FastAPI

from services.customer.consumers import CONSUMERS
from services.customer.routes import router
from shared.service import create_service_app
from shared.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings("customer")
    return create_service_app(
        settings=settings,
        title="OneView CRM: customer service",
        description="The customer master (persons, organizations, contact points) and the unified customer view.",
        router=router,
        consumers=CONSUMERS,
    )
