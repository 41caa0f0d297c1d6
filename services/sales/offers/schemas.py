"""Response bodies of the offers API (it takes no body)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class OfferedProductOut(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str


class OfferOut(OfferedProductOut):
    reason: str = Field(description="Why, in words: how many similar customers bought it, and what they also "
                                    "bought that this customer has.")
    score: str = Field(description="Co-buyers plus the share of similar customers who bought it (decimal string): "
                                   "offers are in its order.")
    bought_by: int = Field(description="Similar customers who bought it.")
    co_bought_by: int = Field(description="Of those, the ones who also bought a product this customer has.")
    also_bought: OfferedProductOut | None = Field(
        description="The product this customer has that most of its buyers also bought; null: none did.")


class OffersOut(BaseModel):
    customer_id: uuid.UUID
    customer_group: str | None = Field(description="The customer's group in the unified view, which similar "
                                                   "customers share.")
    value_tier: str | None
    similar_customers: int = Field(description="Similar customers with a basket counted (at most 500, the most "
                                               "recent buyers).")
    offers: list[OfferOut]
