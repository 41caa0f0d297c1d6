"""The customer service: the customer master and the unified customer view."""

from __future__ import annotations

from fastapi import FastAPI

from services.customer.consumers import apply_to_view
from services.customer.routes import router
from shared.service import ConsumerSpec, create_service_app
from shared.settings import load_settings
from shared.topics import DOMAIN_TOPICS


def create_app() -> FastAPI:
    settings = load_settings("customer")
    return create_service_app(
        settings=settings,
        title="OneView CRM: customer service",
        description="The customer master (persons, organizations, contact points) and the unified customer view.",
        router=router,
        consumers=[ConsumerSpec(name="view", topics=list(DOMAIN_TOPICS.values()), handle=apply_to_view)],
    )
