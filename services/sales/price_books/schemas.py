"""Request and response bodies of the price books API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from services.sales.products.schemas import MinQuantity
from shared.types import CurrencyCode, IsoDate, Money, MoneyIn

Status = Literal["active", "retired"]
MAX_ENTRIES = 2000
Group = Annotated[str, Field(min_length=1, max_length=100, examples=["wholesale"],
                             description="Only customers of this group (the customer service's classification).")]
Tier = Annotated[str, Field(min_length=1, max_length=20, examples=["A"],
                            description="Only customers of this value tier (the customer service's classification).")]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    unit_price: MoneyIn = Field(description="In the book's currency.")
    min_quantity: MinQuantity = Field(default=Decimal(0), description="The price applies from this quantity on.")


class PriceBookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    customer_group: Group | None = None
    value_tier: Tier | None = None
    valid_from: IsoDate
    valid_to: IsoDate | None = Field(default=None, description="Exclusive; none: open-ended.")
    entries: list[EntryIn] = Field(default_factory=list, max_length=MAX_ENTRIES)


class PriceBookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent) for those that cannot be cleared.
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    currency: CurrencyCode | SkipJsonSchema[None] = None
    customer_group: Group | None = None
    value_tier: Tier | None = None
    valid_from: IsoDate | SkipJsonSchema[None] = None
    valid_to: IsoDate | None = None
    entries: Annotated[list[EntryIn], Field(max_length=MAX_ENTRIES)] | SkipJsonSchema[None] = Field(
        default=None, description="Replaces every entry of the book.")


class EntryOut(BaseModel):
    product_id: uuid.UUID
    unit_price: Money
    min_quantity: MinQuantity


class PriceBookSummary(BaseModel):
    id: uuid.UUID
    name: str
    currency: str
    customer_group: str | None
    value_tier: str | None
    valid_from: date
    valid_to: date | None
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None


class PriceBookOut(PriceBookSummary):
    entries: list[EntryOut]
