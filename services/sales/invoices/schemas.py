"""Request and response bodies of the invoices API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.sales.sales_policy.rules import MAX_TERMS_DAYS
from shared.types import Money, NotBoolean

Status = Literal["open", "paid", "overdue", "written_off"]


class InvoiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: uuid.UUID = Field(description="A confirmed or shipped order (per the sales policy's invoice_from).")
    payment_terms_days: Annotated[int, Field(ge=0, le=MAX_TERMS_DAYS), NotBoolean] | None = Field(
        default=None, description="Days until due; null or left out: the sales policy's.")


class WriteOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="Why the debt is not collectable.")


class InvoiceOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    order_id: uuid.UUID
    number: str
    issued_on: date
    due_on: date
    payment_terms_days: int
    total: Money
    open_amount: Money = Field(description="Total less payments allocated, credit notes and the write-off.")
    paid: Money
    credited: Money
    written_off: Money
    write_off_reason: str | None
    status: Status = Field(description="overdue: open past due_on today.")
    version: int
    created_at: datetime
    updated_at: datetime
