"""The customer service: the customer master and the unified customer view."""

from __future__ import annotations

from fastapi import FastAPI

from services.customer.classification import routes as classification
from services.customer.classification.jobs import CustomerSettings
from services.customer.consent import routes as consent
from services.customer.custom_fields import routes as custom_fields
from services.customer.customers import routes as customers
from services.customer.duplicates import routes as duplicates
from services.customer.importing import routes as importing
from services.customer.merging import routes as merging
from services.customer.privacy import routes as privacy
from services.customer.view import routes as view
from shared.service import create_service_app
from shared.settings import load_settings

# In the order routes are matched: the unified view first (the most read path; its
# three-segment paths cannot be claimed by anything below), and /customers/duplicates
# before /customers/{id}, which would take it for an id.
FEATURES = (view, duplicates, customers, custom_fields, classification, consent, importing, merging, privacy)


def create_app() -> FastAPI:
    settings = load_settings("customer", CustomerSettings)
    return create_service_app(
        settings=settings,
        title="OneView CRM: customer service",
        description="The customer master (persons, organizations, contact points) and the unified customer view.",
        routers=tuple(feature.router for feature in FEATURES),
    )
