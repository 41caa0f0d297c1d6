"""Request and response bodies of the queues API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from services.service_desk.tickets.schemas import Channel, TicketType
from shared.types import NotBoolean

Assignment = Literal["round_robin", "least_loaded"]
QueueName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Position = Annotated[int, Field(ge=0, le=1_000_000), NotBoolean]
Skill = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
LanguageTag = Annotated[str, Field(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$",
                                   description="BCP 47, e.g. 'en', 'de-CH'; 'de' also matches 'de-CH'.")]
ProductId = Annotated[str, Field(min_length=1, max_length=64)]
Tier = Annotated[str, Field(min_length=1, max_length=20)]


class Match(BaseModel):
    """Every condition given must hold; an absent or empty list matches any ticket. A ticket that does not
    state a field (no language, no product, a customer without a known tier) does not meet a condition on it."""

    model_config = ConfigDict(extra="forbid")

    types: list[TicketType] = Field(default_factory=list, max_length=20)
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    languages: list[LanguageTag] = Field(default_factory=list, max_length=100)
    product_ids: list[ProductId] = Field(default_factory=list, max_length=500)
    value_tiers: list[Tier] = Field(default_factory=list, max_length=50,
                                    description="The customer's value tier in the unified view.")


class QueueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: QueueName = Field(description="Unique per tenant.")
    position: Position = Field(default=100, description=(
        "Routing order: a new ticket without a queue goes to the first queue, by position then id, whose match "
        "it meets; none: it stays without a queue."))
    match: Match = Field(default_factory=Match)
    required_skills: list[Skill] = Field(default_factory=list, max_length=50,
                                         description="An agent must have every one to take the queue's tickets.")
    assignment: Assignment = Field(default="round_robin", description=(
        "round_robin: the agents in turn (stable id order); least_loaded: the fewest open tickets, then the "
        "longest since their last assignment."))


class QueuePatch(BaseModel):
    """Only the fields sent change; ``match`` replaces the whole rule."""

    model_config = ConfigDict(extra="forbid")

    name: QueueName | SkipJsonSchema[None] = None
    position: Position | SkipJsonSchema[None] = None
    match: Match | SkipJsonSchema[None] = None
    required_skills: Annotated[list[Skill], Field(max_length=50)] | SkipJsonSchema[None] = None
    assignment: Assignment | SkipJsonSchema[None] = None


class QueueOut(BaseModel):
    id: uuid.UUID
    name: str
    position: int
    match: Match
    required_skills: list[str]
    assignment: Assignment
    waiting: int = Field(description="Open tickets of the queue without an assignee.")
    version: int
    created_at: datetime
    updated_at: datetime
