"""Request and response bodies of the sales teams and routing rules APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.json_schema import SkipJsonSchema

from shared.types import CountryCode, NotBoolean



# Whole numbers as JSON Schema's integer means them (3 and 3.0 alike), never a boolean.
Employees = Annotated[int, Field(ge=0, le=10_000_000), NotBoolean]
Capacity = Annotated[int, Field(ge=0, le=100_000), NotBoolean]
Minutes = Annotated[int, Field(ge=1, le=525_600), NotBoolean]
Position = Annotated[int, Field(ge=0, le=1_000_000), NotBoolean]


Strategy = Literal["round_robin", "least_loaded"]
TeamName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Owner = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Word = Annotated[str, Field(min_length=1, max_length=100)]
Source = Annotated[str, Field(min_length=1, max_length=40)]
Tier = Annotated[str, Field(min_length=1, max_length=20)]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: Owner = Field(description="The member's user id, as leads name their owner.")
    capacity: Capacity = Field(description="At most this many open (new or working) leads at once.")
    available: StrictBool = True


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TeamName = Field(description="Unique per tenant; routing rules and leads name the team by it.")
    strategy: Strategy = "round_robin"
    first_touch_minutes: Minutes | None = Field(default=None, description=(
        "First-touch SLA: a lead assigned and not touched (status change, edit) within this many minutes "
        "is flagged overdue once. None: no SLA."))
    members: list[MemberIn] = Field(default_factory=list, max_length=500)


class TeamPatch(BaseModel):
    """Only the fields sent change; ``members`` replaces the whole list (capacity and availability included)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Strategy | SkipJsonSchema[None] = None
    first_touch_minutes: Minutes | None = None
    members: Annotated[list[MemberIn], Field(max_length=500)] | SkipJsonSchema[None] = None


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
    employees_min: Employees | None = None
    employees_max: Employees | None = None


class RoutingRuleCreate(Conditions):
    name: Word
    team: TeamName = Field(description="The team the matching leads go to (a team of the tenant).")
    position: Position = Field(default=100, description="Rules are tried by position, then by id.")


class RoutingRulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Word | SkipJsonSchema[None] = None
    team: TeamName | SkipJsonSchema[None] = None
    position: Position | SkipJsonSchema[None] = None
    countries: Annotated[list[CountryCode], Field(max_length=300)] | SkipJsonSchema[None] = None
    regions: Annotated[list[Word], Field(max_length=300)] | SkipJsonSchema[None] = None
    industries: Annotated[list[Word], Field(max_length=300)] | SkipJsonSchema[None] = None
    tiers: Annotated[list[Tier], Field(max_length=50)] | SkipJsonSchema[None] = None
    sources: Annotated[list[Source], Field(max_length=50)] | SkipJsonSchema[None] = None
    employees_min: Employees | None = None
    employees_max: Employees | None = None


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
