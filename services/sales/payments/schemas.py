"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.types import AmountIn, IsoDate, Money, MoneyIn


class AllocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_id: uuid.UUID
    amount: AmountIn = Field(description="In the payment's currency, at most what the invoice owes.")


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    amount: MoneyIn
    received_on: IsoDate | None = Field(default=None, description="Default: today.")
    reference: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    allocations: Annotated[list[AllocationIn], Field(max_length=500)] | None = Field(
        default=None, description="Left out: the customer's open invoices in the payment's currency, oldest first.")
    keep_excess_as_credit: bool = Field(
        default=False, description="Accept more than the allocations take, kept as the customer's credit.")


class AllocationOut(BaseModel):
    invoice_id: uuid.UUID
    amount: Money


class PaymentOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    amount: Money
    received_on: date
    reference: str | None
    allocations: list[AllocationOut]
    unallocated: Money = Field(description="Kept as the customer's credit.")
    created_at: datetime
