"""HTTP edge of cross-sell offers: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from services.sales import contract
from services.sales.offers import rules, service
from services.sales.offers.schemas import OfferedProductOut, OfferOut, OffersOut
from shared.auth import Principal, Scopes
from shared.http import DbSession, feature_router

router = feature_router(tags=["offers"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def _product(item: rules.Item) -> OfferedProductOut:
    return OfferedProductOut(product_id=item.product_id, sku=item.sku, name=item.name)


def offers_out(found: service.Offers) -> OffersOut:
    return OffersOut(
        customer_id=found.customer_id, customer_group=found.segment.customer_group,
        value_tier=found.segment.value_tier, similar_customers=found.similar,
        offers=[OfferOut(**_product(o.item).model_dump(), reason=o.reason, score=format(o.score, "f"),
                         bought_by=o.bought_by, co_bought_by=o.co_bought_by,
                         also_bought=_product(o.also_bought) if o.also_bought is not None else None)
                for o in found.offers])


@router.get("/customers/{customer_id:uuid}/offers", response_model=OffersOut,
            summary="Cross-sell offers: products similar customers bought that this customer does not have",
            description="Similar customers: the same customer group and value tier in the unified view (at most "
                        "500, the most recent buyers), with delivered or invoiced orders (not cancelled, not "
                        "returned in full). Products they bought that this customer has on no order and that are "
                        "active, ranked by how many of them also bought a product this customer has, then by how "
                        "many bought it, each with its reason. A customer with no orders gets the segment's most "
                        "popular products.")
def get_offers(
    customer_id: uuid.UUID,
    db: DbSession,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=rules.MAX_LIMIT, description="How many offers.")] = rules.DEFAULT_LIMIT,
) -> OffersOut:
    return offers_out(service.offers(db, who.tenant, customer_id, limit=limit))
