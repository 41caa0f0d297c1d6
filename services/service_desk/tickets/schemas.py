"""Request and response bodies of the tickets API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from shared.replica import EmbeddedCustomer

TicketType = Literal["question", "incident", "problem", "request", "complaint", "billing", "return"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["phone", "email", "web", "chat", "visit", "partner"]
Status = Literal["new", "open", "pending_customer", "pending_third_party", "resolved", "closed"]


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20000)
    type: TicketType = "question"
    priority: Priority = "normal"
    channel: Channel = "web"


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent): null is refused (rules.patch_fields), so the schema leaves it out.
    subject: Annotated[str, Field(min_length=1, max_length=300)] | SkipJsonSchema[None] = None
    description: Annotated[str, Field(max_length=20000)] | SkipJsonSchema[None] = None
    type: TicketType | SkipJsonSchema[None] = None
    priority: Priority | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None


class TicketOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    subject: str
    description: str
    type: TicketType
    priority: Priority
    channel: Channel
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    token: str
    resolved_at: datetime | None
    closed_at: datetime | None
