"""Request and response bodies of the campaign responses API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.replica import EmbeddedCustomer
from shared.types import Timestamp

# The kinds of response, in the order a customer usually gets to them (contract.RESPONSE_KINDS).
Kind = Literal["opened", "clicked", "replied", "registered", "unsubscribed", "converted"]


class ResponseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    kind: Kind
    occurred_at: Timestamp | None = Field(
        default=None, description="When the customer responded (RFC 3339 with offset); not in the future. "
                                  "Default: now.")
    variant: str | None = Field(default=None, min_length=1, max_length=100,
                                description="The campaign variant the customer responded to, as the sender named it.")


class ResponseOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    kind: Kind
    variant: str | None
    occurred_at: datetime
    recorded_at: datetime
