"""Request and response bodies of the campaigns API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from shared.replica import EmbeddedCustomer
from shared.types import IsoDate, Money, MoneyIn

Channel = Literal["email", "sms", "phone", "social", "event", "web", "direct_mail"]
Status = Literal["draft", "active", "completed", "cancelled"]
MemberStatus = Literal["member", "removed"]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    budget: MoneyIn
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent): null is refused (rules.patch_fields), so the schema leaves it out.
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    channel: Channel | SkipJsonSchema[None] = None
    budget: MoneyIn | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    channel: Channel
    budget: Money
    status: Status
    starts_on: date | None
    ends_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID


class MemberOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    status: MemberStatus
    added_at: datetime
    updated_at: datetime
