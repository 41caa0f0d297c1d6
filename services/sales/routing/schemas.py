"""Request and response bodies of the sales teams and routing rules APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from shared.types import CountryCode

Strategy = Literal["round_robin", "least_loaded"]
TeamName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Owner = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Word = Annotated[str, Field(min_length=1, max_length=100)]
Source = Annotated[str, Field(min_length=1, max_length=40)]
Tier = Annotated[str, Field(min_length=1, max_length=20)]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Owner = Field(description="The member's user id, as leads name their owner.")
    capacity: int = Field(ge=0, le=100_000, description="At most this many open (new or working) leads at once.")
    available: bool = True


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TeamName = Field(description="Unique per tenant; routing rules and leads name the team by it.")
    strategy: Strategy = "round_robin"
    first_touch_minutes: int | None = Field(default=None, ge=1, le=525_600, description=(
        "First-touch SLA: a lead assigned and not touched (status change, edit) within this many minutes "
        "is flagged overdue once. None: no SLA."))
    members: list[MemberIn] = Field(default_factory=list, max_length=500)


class TeamPatch(BaseModel):
    """Only the fields sent change; ``members`` replaces the whole list (capacity and availability included)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy | SkipJsonSchema[None] = None
    first_touch_minutes: int | None = Field(default=None, ge=1, le=525_600)
    members: list[MemberIn] | SkipJsonSchema[None] = Field(default=None, max_length=500)


class MemberOut(BaseModel):
    owner: str
    capacity: int
    available: bool
    open_leads: int = Field(description="Leads new or working with this owner in this team.")


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    strategy: Strategy
    first_touch_minutes: int | None
    members: list[MemberOut]
    queued: int = Field(description="Leads of the team waiting for a member with capacity.")
    version: int
    created_at: datetime
    updated_at: datetime


class Conditions(BaseModel):
    """Every condition given must hold; a lead that does not state a field does not meet a condition on it."""

    model_config = ConfigDict(extra="forbid")

    countries: list[CountryCode] = Field(default_factory=list, max_length=300)
    regions: list[Word] = Field(default_factory=list, max_length=300)
    industries: list[Word] = Field(default_factory=list, max_length=300)
    tiers: list[Tier] = Field(default_factory=list, max_length=50, description="Value tier of the matching customer.")
    sources: list[Source] = Field(default_factory=list, max_length=50)
    employees_min: int | None = Field(default=None, ge=0, le=10_000_000)
    employees_max: int | None = Field(default=None, ge=0, le=10_000_000)


class RoutingRuleCreate(Conditions):
    name: Word
    team: TeamName = Field(description="The team the matching leads go to (a team of the tenant).")
    position: int = Field(default=100, ge=0, le=1_000_000, description="Rules are tried by position, then by id.")


class RoutingRulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Word | SkipJsonSchema[None] = None
    team: TeamName | SkipJsonSchema[None] = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] | SkipJsonSchema[None] = None
    countries: list[CountryCode] | SkipJsonSchema[None] = Field(default=None, max_length=300)
    regions: list[Word] | SkipJsonSchema[None] = Field(default=None, max_length=300)
    industries: list[Word] | SkipJsonSchema[None] = Field(default=None, max_length=300)
    tiers: list[Tier] | SkipJsonSchema[None] = Field(default=None, max_length=50)
    sources: list[Source] | SkipJsonSchema[None] = Field(default=None, max_length=50)
    employees_min: int | None = Field(default=None, ge=0, le=10_000_000)
    employees_max: int | None = Field(default=None, ge=0, le=10_000_000)


class RoutingRuleOut(BaseModel):
    id: uuid.UUID
    name: str
    team: str
    position: int
    countries: list[str]
    regions: list[str]
    industries: list[str]
    tiers: list[str]
    sources: list[str]
    employees_min: int | None
    employees_max: int | None
    version: int
    created_at: datetime
    updated_at: datetime
