"""Request and response bodies of the agents API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.json_schema import SkipJsonSchema

from services.service_desk.queues.schemas import LanguageTag, Skill
from shared.types import NotBoolean

AgentName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
# Deliberately plain: the address is where mail goes, checked by the mail server, not guessed at here.
EmailAddress = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Capacity = Annotated[int, Field(ge=0, le=100_000, description="At most this many open tickets at once."),
                     NotBoolean]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: AgentName
    email: EmailAddress
    manager_email: EmailAddress | None = Field(default=None,
                                               description="Who SLA escalations of this agent's tickets notify.")
    queue_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100, description="Queues of the tenant.")
    skills: list[Skill] = Field(default_factory=list, max_length=100)
    languages: list[LanguageTag] = Field(default_factory=list, max_length=50, description=(
        "Languages the agent answers in; empty: any. A ticket with a language goes only to agents speaking it."))
    capacity: Capacity = 10
    available: StrictBool = True


class AgentPatch(BaseModel):
    """Only the fields sent change; lists replace the whole list. Availability on, a higher capacity or new
    queues hand out the waiting tickets of the agent's queues at once."""

    model_config = ConfigDict(extra="forbid")

    name: AgentName | SkipJsonSchema[None] = None
    email: EmailAddress | SkipJsonSchema[None] = None
    manager_email: EmailAddress | None = None
    queue_ids: Annotated[list[uuid.UUID], Field(max_length=100)] | SkipJsonSchema[None] = None
    skills: Annotated[list[Skill], Field(max_length=100)] | SkipJsonSchema[None] = None
    languages: Annotated[list[LanguageTag], Field(max_length=50)] | SkipJsonSchema[None] = None
    capacity: Capacity | SkipJsonSchema[None] = None
    available: StrictBool | SkipJsonSchema[None] = None


class AgentOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    manager_email: str | None
    queue_ids: list[uuid.UUID]
    skills: list[str]
    languages: list[str]
    capacity: int
    available: bool
    open_tickets: int = Field(description="Tickets assigned to the agent that are not resolved or closed.")
    last_assigned_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
