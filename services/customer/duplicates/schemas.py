"""Response bodies of duplicate detection."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from services.customer.customers.schemas import CustomerOut


class DuplicateOut(BaseModel):
    """Two records that are likely one customer: merge them with POST /v1/customers/{id}/merge."""

    customer_ids: list[uuid.UUID]
    score: float = Field(ge=0, le=1)
    reasons: list[str]
    customers: list[CustomerOut]


class DuplicatesOut(BaseModel):
    items: list[DuplicateOut]
    next_cursor: str | None = None
