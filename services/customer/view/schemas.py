"""Response bodies of the unified view's HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.customer.contract import VIEW_KPIS_DESCRIPTION


class ConsistencyOut(BaseModel):
    """Whether the view reflects the write named by the request's consistency token."""

    requested: bool
    satisfied: bool
    waited_ms: int


class CustomerViewOut(BaseModel):
    customer_id: uuid.UUID
    version: int
    profile: dict[str, Any]
    kpis: dict[str, Any] = Field(description=VIEW_KPIS_DESCRIPTION)
    source_sequences: dict[str, int] = Field(description="The last outbox sequence applied from each service.")
    as_of: datetime = Field(description="Time of the latest event the view reflects.")
    updated_at: datetime
    consistency: ConsistencyOut


class TimelineEntryOut(BaseModel):
    event_id: uuid.UUID
    occurred_at: datetime
    source: str
    type: str
    summary: str
    resource: str | None = Field(description="Path of the resource in the owning service, through the gateway.")
