"""Request and response bodies of the exchange-rates API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.sales.exchange_rates.rules import RATE_PATTERN
from shared.types import CurrencyCode, IsoDate

RateText = Annotated[str, Field(pattern=RATE_PATTERN, max_length=23, examples=["1.0842"],
                                description="What one unit of base is worth in quote: a positive decimal string, "
                                            "at most 12 integer digits and 10 decimals.")]


class ExchangeRateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: CurrencyCode
    quote: CurrencyCode = Field(description="ISO 4217, upper case; not the base.")
    rate: RateText
    valid_from: IsoDate = Field(description="The first day the rate holds; it holds until the pair's next rate.")


class ExchangeRateOut(BaseModel):
    id: uuid.UUID
    base: str
    quote: str
    rate: str = Field(description="Decimal string, without trailing zeros (\"0.90\" is shown \"0.9\").")
    valid_from: date
    created_at: datetime
