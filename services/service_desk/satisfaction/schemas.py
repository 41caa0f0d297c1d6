"""Request and response bodies of satisfaction answers and of the service figures."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GroupBy = Literal["queue", "agent", "tier", "period"]
Period = Literal["day", "week", "month"]


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied).")
    comment: str | None = Field(default=None, max_length=4000)


class RatingOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    resolution: int = Field(description="Which resolution of the ticket it rates: 1 for the first.")
    rating: int = Field(ge=1, le=5)
    comment: str | None
    via: Literal["link", "api"]
    rated_by: str
    queue_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    rated_at: datetime


class Csat(BaseModel):
    average: float | None = Field(description="Average rating (1-5); none without ratings.")
    count: int


class Minutes(BaseModel):
    average: float | None
    median: float | None
    count: int = Field(description="How many tickets have the time (replied to, or resolved).")


class GroupFigures(BaseModel):
    group: str | None = Field(description="The queue or agent id, the value tier, or the period's first day; "
                                          "none for tickets without one.")
    tickets: int = Field(description="Tickets created in the window.")
    csat: Csat
    first_response_minutes: Minutes = Field(description="Creation to the first public agent reply.")
    resolution_minutes: Minutes = Field(description="Creation to the (latest) resolution.")
    breach_rate: float = Field(ge=0, le=1, description="Share of the tickets with a breached SLA target.")


class ServiceStats(BaseModel):
    group_by: GroupBy
    period: Period | None
    start: datetime = Field(description="Tickets created from here (inclusive) ...")
    end: datetime = Field(description="... up to here (exclusive).")
    groups: list[GroupFigures]
