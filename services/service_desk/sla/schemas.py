"""Request and response bodies of SLA policies and calendars, and a ticket's SLA as every ticket shows it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

SlaState = Literal["ok", "warning", "breached", "paused"]

Name = Annotated[str, Field(min_length=1, max_length=200)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="An IANA time zone, e.g. Europe/Berlin.")]
# A business target: at most about ten years of minutes.
Minutes = Annotated[int, Field(ge=1, le=5_256_000)]
Label = Annotated[str, Field(min_length=1, max_length=100)]
Holidays = Annotated[list[date], Field(max_length=2000, description="Whole days off, in the calendar's zone.")]
Position = Annotated[int, Field(ge=0, le=1_000_000)]
WarningMinutes = Annotated[int, Field(ge=0, le=525_600,
                                      description="How long (wall-clock minutes) before a due time a warning is raised.")]


class TicketSla(BaseModel):
    """A ticket's SLA: the policy that applies and its due times, recomputed on every change."""

    policy_id: uuid.UUID
    policy: str
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    state: SlaState


# --- calendars -------------------------------------------------------------------------------


class Interval(BaseModel):
    """Working time of one day, local wall time of the calendar's zone; ``end`` may be ``24:00``."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])
    end: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["17:00"])


DayHours = Annotated[list[Interval], Field(max_length=24)]


class WorkingHours(BaseModel):
    """Each weekday's working intervals (absent or empty: a day off). Intervals may not overlap or be inverted."""

    model_config = ConfigDict(extra="forbid")

    mon: DayHours = []
    tue: DayHours = []
    wed: DayHours = []
    thu: DayHours = []
    fri: DayHours = []
    sat: DayHours = []
    sun: DayHours = []


class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    time_zone: TimeZone
    working_hours: WorkingHours
    holidays: list[date] = Field(default=[], max_length=2000,
                                 description="Whole days off, in the calendar's zone.")


class CalendarPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent): null is refused, so the schema leaves it out.
    name: Name | SkipJsonSchema[None] = None
    time_zone: TimeZone | SkipJsonSchema[None] = None
    working_hours: WorkingHours | SkipJsonSchema[None] = None
    holidays: Holidays | SkipJsonSchema[None] = None


class CalendarOut(BaseModel):
    id: uuid.UUID
    name: str
    time_zone: str
    working_hours: WorkingHours
    holidays: list[date]
    version: int
    created_at: datetime
    updated_at: datetime


# --- policies --------------------------------------------------------------------------------


class PolicyMatch(BaseModel):
    """What a policy applies to; an empty or absent list matches any value."""

    model_config = ConfigDict(extra="forbid")

    value_tiers: list[Label] = Field(default=[], max_length=50)
    customer_groups: list[Label] = Field(default=[], max_length=50)
    priorities: list[Literal["low", "normal", "high", "urgent"]] = Field(default=[], max_length=4)
    types: list[Label] = Field(default=[], max_length=50)


class Escalation(BaseModel):
    """What a breach does: raise the priority one step, move the ticket to a queue, e-mail the assignee's
    manager."""

    model_config = ConfigDict(extra="forbid")

    raise_priority: bool = False
    move_to_queue_id: uuid.UUID | None = None
    notify_manager: bool = False


class PolicyIn(BaseModel):
    """An SLA policy. Tickets get the first policy that matches, lowest ``position`` first (ties: the oldest id
    order); at least one of the three targets is needed. Targets count business minutes of the calendar."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    position: int = Field(ge=0, le=1_000_000)
    match: PolicyMatch = PolicyMatch()
    calendar_id: uuid.UUID
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warning_minutes: int = Field(default=30, ge=0, le=525_600,
                                 description="How long (wall-clock minutes) before a due time a warning is raised.")
    escalation: Escalation = Escalation()


class PolicyPatch(BaseModel):
    """A target set to null is dropped (at least one must remain); other fields cannot be cleared."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = None
    position: Position | SkipJsonSchema[None] = None
    match: PolicyMatch | SkipJsonSchema[None] = None
    calendar_id: uuid.UUID | SkipJsonSchema[None] = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warning_minutes: WarningMinutes | SkipJsonSchema[None] = None
    escalation: Escalation | SkipJsonSchema[None] = None


class PolicyOut(BaseModel):
    id: uuid.UUID
    name: str
    position: int
    match: PolicyMatch
    calendar_id: uuid.UUID
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    warning_minutes: int
    escalation: Escalation
    version: int
    created_at: datetime
    updated_at: datetime
