"""HTTP edges of the customer service: the customer master and the unified view."""

from fastapi import APIRouter

from services.customer.routes import (
    classification,
    consent,
    custom_fields,
    customers,
    duplicates,
    importing,
    merging,
    privacy,
    view,
)

router = APIRouter()
# One flat level, in the order routes are matched: the unified view first (the most read
# path; its three-segment paths cannot be claimed by anything below), and
# /customers/duplicates before /customers/{id}, which would take it for an id.
for part in (view, duplicates, customers, custom_fields, classification, consent, importing, merging, privacy):
    router.include_router(part.router)

__all__ = ["router"]
