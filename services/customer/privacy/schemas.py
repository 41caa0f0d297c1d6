"""Response bodies of erasure and export."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ErasureOut(BaseModel):
    """The audit entry of an erasure: no personal data."""

    customer_id: uuid.UUID
    erased_ids: list[uuid.UUID]
    erased_at: datetime
    requested_by: str


class ExportOut(BaseModel):
    """Everything OneView CRM holds about one customer, from every service."""

    customer: dict[str, Any]
    merged_records: list[dict[str, Any]]
    merges: list[dict[str, Any]]
    consent: dict[str, Any]
    view: dict[str, Any] | None
    timeline: list[dict[str, Any]]
    sales: dict[str, Any]
    service_desk: dict[str, Any]
    campaign: dict[str, Any]
    exported_at: datetime
