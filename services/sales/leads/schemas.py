"""Request and response bodies of the leads API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from pydantic.networks import validate_email

from shared.replica import EmbeddedCustomer
from shared.types import CountryCode, IsoDate, MoneyIn, NotBoolean, PhoneNumber


# Whole numbers as JSON Schema's integer means them (3 and 3.0 alike), never a boolean.
Employees = Annotated[int, Field(ge=0, le=10_000_000), NotBoolean]
Points = Annotated[int, Field(ge=-100, le=100), NotBoolean]


Status = Literal["new", "working", "qualified", "disqualified", "converted"]
Source = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$",
                              description="Where the lead came from, e.g. web, event, referral, import, campaign.")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=100)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


def _email(value: str) -> str:
    return validate_email(value)[1]


EmailAddress = Annotated[str, AfterValidator(_email), Field(max_length=320, json_schema_extra={"format": "email"})]


class _ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    company: Name | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    country: CountryCode | None = None
    region: Text | None = None
    industry: Text | None = None
    employees: Employees | None = None


class LeadCreate(_ContactIn):
    """A lead needs an e-mail, a phone, a company or a customer to be worth anything (a 422 names ``email``)."""

    source: Source = "api"
    customer_id: uuid.UUID | None = Field(default=None, description="A customer the lead is known to belong to.")
    note: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        default=None, description="Free text kept in the lead's history (a duplicate's note goes to the existing lead's).")


class LeadPatch(BaseModel):
    """Contact fields (``null`` clears one) and ``status: working``; other statuses have their own operations."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress | None = None
    phone: PhoneNumber | None = None
    company: Name | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    country: CountryCode | None = None
    region: Text | None = None
    industry: Text | None = None
    employees: Employees | None = None
    status: Literal["working"] | SkipJsonSchema[None] = None


class QualifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class DisqualifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class OpportunityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    amount: MoneyIn
    expected_close_date: IsoDate | None = None


class ConvertIn(BaseModel):
    """Without ``customer_id``: the customer the lead matched, else a new one created in the customer service."""

    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID | None = None
    opportunity: OpportunityIn | None = Field(default=None, description=(
        "The deal to open for the customer (owner and team: the lead's). Without it no opportunity is opened."))


class ScoreReason(BaseModel):
    rule: str
    points: int


class LeadOut(BaseModel):
    id: uuid.UUID
    status: Status
    source: str
    campaign_id: uuid.UUID | None
    email: str | None
    phone: str | None
    company: str | None
    given_name: str | None
    family_name: str | None
    country: str | None
    region: str | None
    industry: str | None
    employees: int | None
    score: int
    score_reasons: list[ScoreReason]
    responses: int = Field(description="Campaign responses counted as engagement.")
    last_engaged_at: datetime | None
    team: str | None
    owner: str | None
    queued: bool = Field(description="Waiting in its team's queue for a member with capacity.")
    first_touch_due_at: datetime | None
    overdue: bool = Field(description="Missed its team's first-touch time.")
    customer_id: uuid.UUID | None
    customer: EmbeddedCustomer | None
    opportunity_id: uuid.UUID | None
    reason: str | None = Field(description="Why it was qualified or disqualified.")
    duplicate_of: uuid.UUID | None = Field(default=None, description=(
        "Set on the answer to a create that was a duplicate: the existing lead it was folded into (this one)."))
    matched_on: list[str] = Field(default_factory=list, description="email, phone, domain or customer: why it is a duplicate.")
    version: int
    created_at: datetime
    updated_at: datetime


class HistoryOut(BaseModel):
    id: uuid.UUID
    at: datetime
    action: str = Field(description="created, merged, assigned, queued, status, updated, engaged, overdue, converted, "
                                    "moved or erased")
    details: dict[str, Any]


class ScoringRuleIn(BaseModel):
    """Points for a lead whose ``field`` is one of ``values`` (text fields) or within ``min``..``max`` (numbers)."""

    model_config = ConfigDict(extra="forbid")

    rule: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.:-]+$")]
    field: Literal["industry", "country", "region", "source", "customer_tier", "employees", "responses",
                   "recency_days"]
    values: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)
    min: Employees | None = None
    max: Employees | None = None
    points: Points


class ScoringRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[ScoringRuleIn] = Field(max_length=100)


class ScoringRulesOut(BaseModel):
    rules: list[ScoringRuleIn]
    defaults: bool = Field(description="True while the tenant has not set rules of its own.")
    version: int = Field(description="0 for the defaults; If-Match on PUT compares it.")
