"""The customer service: the customer master and the unified customer view."""

from __future__ import annotations

from fastapi import FastAPI

from services.customer.classifying import rank_due_tenants
from services.customer.consumers import CONSUMERS
from services.customer.routes import router
from shared.jobs import PeriodicJob
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
        # Tiers rank everybody: single writes place a customer with the last ranking's cut-offs,
        # and this re-ranks each tenant as often as the settings say.
        jobs=(PeriodicJob(name="rank-value-tiers", interval=lambda s: s.classification_rank_seconds,
                          run=rank_due_tenants),),
    )
