"""Request and response bodies of price quotes and of the tenant's pricing policy."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from services.sales.products.schemas import Quantity, decimal_text
from shared.replica import EmbeddedCustomer
from shared.types import CurrencyCode, IsoDate, Money

# 0 to 100, at most 2 decimals, as a decimal string.
PERCENT_PATTERN = r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$"
Percent = Annotated[Decimal, decimal_text(PERCENT_PATTERN, 'must be a percentage from "0" to "100", at most 2 decimals'),
                    PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str),
                    WithJsonSchema({"type": "string", "pattern": PERCENT_PATTERN, "examples": ["12.5"]})]


class QuoteLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    quantity: Quantity
    discount_percent: Percent = Field(
        default=Decimal(0), description="Above the tenant's threshold (GET /v1/pricing-policy) it needs sales:approve.")


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    currency: CurrencyCode
    on: IsoDate | None = Field(default=None, description="The day to price on; default: today (UTC).")
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=200)


class QuotedLine(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    quantity: Quantity
    discount_percent: Percent
    unit_price: Money
    line_total: Money = Field(description="quantity x unit price, less the discount, rounded to the currency once.")
    price_book_id: uuid.UUID
    reason: str = Field(description="Why this book's price: the segment match, quantity tier and validity.")


class QuoteOut(BaseModel):
    customer: EmbeddedCustomer
    customer_group: str | None = Field(description="The customer's group the prices were chosen for.")
    value_tier: str | None = Field(description="The customer's value tier the prices were chosen for.")
    currency: str
    on: date
    lines: list[QuotedLine]
    total: Money


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    discount_threshold: Percent = Field(description="A line's discount above this percentage needs sales:approve.")


class PolicyOut(BaseModel):
    discount_threshold: Percent
    version: int = Field(description="0: the default, never changed.")
    updated_at: datetime | None
