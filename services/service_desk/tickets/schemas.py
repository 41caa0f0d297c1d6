"""Request and response bodies of the tickets API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.replica import EmbeddedCustomer

TicketType = Literal["question", "incident", "problem", "request", "complaint"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "phone", "web", "chat", "social", "in_person"]
Status = Literal["new", "open", "pending", "solved", "closed"]


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

    subject: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20000)
    type: TicketType | None = None
    priority: Priority | None = None
    status: Status | None = None


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
    solved_at: datetime | None
