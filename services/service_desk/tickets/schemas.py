"""Request and response bodies of the tickets API: tickets, their comments and history, merges, and the
customer context an agent sees on a ticket."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from services.service_desk.sla.schemas import TicketSla
from shared.replica import EmbeddedCustomer

TicketType = Literal["question", "incident", "problem", "request", "complaint", "billing", "return"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["phone", "email", "web", "chat", "visit", "partner"]
Status = Literal["new", "open", "pending_customer", "pending_third_party", "resolved", "closed"]
Visibility = Literal["public", "internal"]
AuthorType = Literal["agent", "customer"]

# BCP 47, loosely: a primary language subtag, then subtags of letters and digits ("de", "pt-BR", "zh-Hant-TW").
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,8}$", max_length=35,
                                description="BCP 47 language tag, e.g. de or pt-BR")]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\s,]+$",
                           description="A tag: no spaces or commas")]
Tags = Annotated[list[Tag], Field(max_length=30)]
Reference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+$",
                                 description="An id in the sales service, stored as given (not checked)")]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")]
Subject = Annotated[str, Field(min_length=1, max_length=300)]
Description = Annotated[str, Field(max_length=20000)]


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    subject: Subject
    description: Description = ""
    type: TicketType = "question"
    priority: Priority = "normal"
    channel: Channel = "web"
    language: Language | None = None
    tags: Tags = Field(default_factory=list)
    order_id: Reference | None = None
    product_id: Reference | None = None
    queue_id: uuid.UUID | None = Field(default=None, description="Without one, the routing rules choose the queue")
    requester_email: Email | None = Field(default=None, description="Who wrote in; e-mail replies go there")


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None only as the default (a field not sent): null is refused (rules.patch_fields), so the schema leaves it out.
    subject: Subject | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    type: TicketType | SkipJsonSchema[None] = None
    priority: Priority | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None
    tags: Tags | SkipJsonSchema[None] = None
    # These may be cleared with null.
    queue_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    order_id: Reference | None = None
    product_id: Reference | None = None
    language: Language | None = None


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
    token: str = Field(description="The reference to quote in an e-mail subject, as [#token]")
    language: str | None
    queue_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    tags: list[str]
    order_id: str | None = Field(description="A sales order id, as given")
    product_id: str | None = Field(description="A sales product id, as given")
    requester_email: str | None
    merged_into_id: uuid.UUID | None = Field(description="The ticket this one was merged into")
    resolved_at: datetime | None
    closed_at: datetime | None
    resolutions: int = Field(description="How many times the ticket was resolved")
    sla: TicketSla | None = Field(description="The SLA that applies; null without a policy")


class Money(BaseModel):
    amount: str
    currency: str


class OtherTicket(BaseModel):
    id: uuid.UUID
    subject: str
    status: Status
    priority: Priority
    type: TicketType
    created_at: datetime


class TicketContext(BaseModel):
    """The customer as the agent should see them, from the replica of the unified view (fields the view
    does not carry are null, never zero), and the customer's other open tickets in the desk."""

    available: bool = Field(description="False when the desk has no view of the customer")
    reason: str | None = Field(description="Why the view is unavailable")
    view_version: int | None
    value_tier: str | None
    customer_group: str | None
    lifetime_value: list[Money] | None
    open_orders: int | None
    open_orders_value: list[Money] | None
    open_receivables: list[Money] | None
    overdue_invoices: int | None
    open_tickets: int | None = Field(description="Open tickets as the view counts them")
    open_sla_breaches: int | None
    csat_last: int | None = Field(description="The customer's last satisfaction rating (1-5)")
    csat_average: float | None
    last_service_contact: str | None = Field(description="Time of the customer's newest ticket event")
    churn_risk: dict[str, Any] | None = Field(description="{score, level, reasons} as the view computes it")
    next_best_action: dict[str, Any] | None
    last_contact: dict[str, Any] | None = Field(description="{at, source, entity} of the last contact")
    as_of: str | None = Field(description="Time of the latest event the view reflects")
    other_open_tickets: list[OtherTicket]


class TicketDetail(TicketOut):
    context: TicketContext


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=50000)]
    visibility: Visibility = "public"
    author_type: AuthorType = "agent"
    author_name: Annotated[str, Field(min_length=1, max_length=200)]
    author_email: Email | None = None
    agent_id: uuid.UUID | None = None


class CommentOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    visibility: Visibility
    author_type: str = Field(description="agent, customer or system")
    author_id: uuid.UUID | None
    author_name: str
    author_email: str | None
    body: str
    via: str = Field(description="api, email, merge ...")
    created_at: datetime


class HistoryEntry(BaseModel):
    id: int
    ticket_id: uuid.UUID
    at: datetime
    action: str = Field(description="created, changed, commented, merged, merged_into, escalated ...")
    actor: str
    details: dict[str, Any]


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: uuid.UUID = Field(description="The surviving ticket, of the same customer")


class MergeOut(BaseModel):
    duplicate: TicketOut
    survivor: TicketOut
    comments_moved: int
