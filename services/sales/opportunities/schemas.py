"""Request and response bodies of the opportunities API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from shared.replica import EmbeddedCustomer
from shared.types import IsoDate, Money, MoneyIn

Stage = Literal["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]
Status = Literal["open", "won", "lost"]


class OpportunityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    amount: MoneyIn
    stage: Stage = "prospecting"
    expected_close_date: IsoDate | None = None


class OpportunityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent): null is refused (rules.patch_fields), so the schema leaves it out.
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    amount: MoneyIn | SkipJsonSchema[None] = None
    stage: Stage | SkipJsonSchema[None] = None
    expected_close_date: IsoDate | None = None


class OpportunityOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    name: str
    amount: Money
    stage: Stage
    status: Status
    probability: int
    expected_close_date: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
