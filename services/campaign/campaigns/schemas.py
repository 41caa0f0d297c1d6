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
Status = Literal["draft", "scheduled", "running", "completed", "cancelled"]
MemberStatus = Literal["member", "removed"]
Objective = Annotated[str, Field(max_length=500, description="What the campaign is for, e.g. 'win back lapsed buyers'.")]
Owner = Annotated[str, Field(min_length=1, max_length=100)]
TestShare = Annotated[int, Field(ge=1, le=100, description="Percent of the members in the A/B test; the rest "
                                                            "wait for the winner. Absent: everyone is split.")]


class Variant(BaseModel):
    """One version of the message; members are split among variants by their shares (whole percent, adding up to 100)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=60)]
    share: Annotated[int, Field(ge=1, le=100)]
    subject: Annotated[str, Field(max_length=200)] | None = None
    body: Annotated[str, Field(max_length=100_000)] | None = None


Variants = Annotated[list[Variant], Field(max_length=10)]
WinnerMetric = Literal["opened", "clicked", "replied", "registered", "converted", "leads", "won_revenue"]
TestWindow = Annotated[int, Field(ge=1, le=720, description="Hours from the launch until the winner is chosen.")]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    budget: MoneyIn
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    objective: Objective | None = None
    owner: Owner | None = None
    audience_id: uuid.UUID | None = None
    variants: Variants = Field(default_factory=list)
    test_share: TestShare | None = None
    winner_metric: WinnerMetric | None = Field(default=None, description=(
        "What picks the winner: the rate of each variant's members who responded so (opened ... converted), who "
        "became a lead from the campaign (leads), or the won revenue of those leads per member (won_revenue)."))
    test_window_hours: TestWindow | None = None


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent): null is refused (rules.patch_fields), so the schema leaves it out.
    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    channel: Channel | SkipJsonSchema[None] = None
    budget: MoneyIn | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    objective: Objective | None = None
    owner: Owner | None = None
    audience_id: uuid.UUID | None = None
    variants: Variants | SkipJsonSchema[None] = None
    test_share: TestShare | None = None
    winner_metric: WinnerMetric | None = None
    test_window_hours: TestWindow | None = None


class CampaignOut(BaseModel):
    id: uuid.UUID
    name: str
    channel: Channel
    budget: Money
    actual_cost: Money = Field(description="The costs booked so far, in the budget's currency.")
    status: Status
    starts_on: date | None
    ends_on: date | None
    objective: str | None
    owner: str | None
    audience_id: uuid.UUID | None
    variants: list[Variant]
    test_share: int | None
    winner_metric: WinnerMetric | None
    test_window_hours: int | None
    winner: str | None = Field(description="The variant the A/B test chose; the members outside the test get it.")
    winner_chosen_at: datetime | None
    winner_reason: str | None = Field(description="The metric and every variant's figures behind the choice.")
    launched_at: datetime | None
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
    variant: str | None = Field(description="The A/B variant given at launch (null: none, or waiting for the winner).")
    added_at: datetime
    updated_at: datetime


class LaunchOut(BaseModel):
    campaign: CampaignOut
    members: int = Field(description="How many members the launch froze (the audience's and those added by hand).")
    by_variant: dict[str, int] = Field(description="Members per variant.")
    awaiting_winner: int = Field(description="Members outside the A/B test, who get the winning variant.")


class CostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: MoneyIn
    incurred_on: IsoDate
    description: Annotated[str, Field(min_length=1, max_length=200)]


class CostOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    amount: Money
    incurred_on: date
    description: str
    created_at: datetime
