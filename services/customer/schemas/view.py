"""Response bodies of the unified view's HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ConsistencyOut(BaseModel):
    """Whether the view reflects the write named by the request's consistency token."""

    requested: bool
    satisfied: bool
    waited_ms: int


class CustomerViewOut(BaseModel):
    customer_id: uuid.UUID
    version: int
    profile: dict[str, Any]
    kpis: dict[str, Any]
    source_sequences: dict[str, int]
    updated_at: datetime
    consistency: ConsistencyOut
