"""HTTP edges of the customer service: the customer master and the unified view."""

from fastapi import APIRouter

from services.customer.routes import customers, duplicates, merging, privacy, view

router = APIRouter()
# Before the customers router: /customers/duplicates is not a customer id.
router.include_router(duplicates.router)
router.include_router(merging.router)
router.include_router(privacy.router)
router.include_router(customers.router)
router.include_router(view.router)

__all__ = ["router"]
