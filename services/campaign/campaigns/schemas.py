"""Request and response bodies of the campaigns API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.replica import EmbeddedCustomer
from shared.types import Money, MoneyIn

Channel = Literal["email", "sms", "phone", "social", "event", "web", "direct_mail"]
Status = Literal["draft", "active", "completed", "cancelled"]
MemberStatus = Literal["member", "removed"]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    budget: MoneyIn
    starts_on: date | None = None
    ends_on: date | None = None


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    channel: Channel | None = None
    budget: MoneyIn | None = None
    status: Status | None = None
    starts_on: date | None = None
    ends_on: date | None = None


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
