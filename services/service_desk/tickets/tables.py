"""The tickets table, its comments (public replies and internal notes) and its history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.service_desk.database import Base
from shared.db import JsonType, SequenceType


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    # The short reference a customer sees and quotes in a subject ("[#3f2a9c01]"); unique per tenant.
    token: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(35))
    queue_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    tags: Mapped[list[str]] = mapped_column(JsonType)
    # References to what sales owns, kept as given (the desk keeps no replica of orders or products).
    order_id: Mapped[str | None] = mapped_column(String(64))
    product_id: Mapped[str | None] = mapped_column(String(64))
    # Who wrote in, for the e-mail channel: replies go there, and only they (or the customer's known
    # contacts) may thread into the ticket by its token.
    requester_email: Mapped[str | None] = mapped_column(String(320))
    # A duplicate merged into another ticket points at the survivor; what reaches it lands there.
    merged_into_id: Mapped[uuid.UUID | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # How many times the ticket was resolved: a CSAT answer belongs to one resolution.
    resolutions: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_tickets_tenant_id", "tenant_id", "id"),
        Index("ix_tickets_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_tickets_tenant_status", "tenant_id", "status"),
        Index("ix_tickets_tenant_token", "tenant_id", "token", unique=True),
        Index("ix_tickets_tenant_queue", "tenant_id", "queue_id", "status"),
        Index("ix_tickets_tenant_assignee", "tenant_id", "assignee_id", "status"),
    )


class TicketComment(Base):
    """A public reply (what the customer sees and the e-mail channel sends) or an internal note."""

    __tablename__ = "ticket_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    visibility: Mapped[str] = mapped_column(String(10))  # public | internal
    author_type: Mapped[str] = mapped_column(String(10))  # agent | customer | system
    author_id: Mapped[uuid.UUID | None]  # the agent, when an agent wrote it
    author_name: Mapped[str] = mapped_column(String(200))
    author_email: Mapped[str | None] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(20))  # api | email | merge | system
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_ticket_comments_ticket", "tenant_id", "ticket_id", "created_at"),)


class TicketHistory(Base):
    """One thing that happened to a ticket, in order. The SLA clock is computed from these entries (status
    changes, public replies, priority and type changes), never from a counter kept beside them."""

    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(SequenceType, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    at: Mapped[datetime]
    # created | changed | commented | assigned | merged | merged_into | escalated | sla | rated ...
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    # {field: {"old", "new"}} for changes; {"comment_id", "visibility", "author_type"} for comments.
    details: Mapped[dict[str, Any]] = mapped_column(JsonType)

    __table_args__ = (Index("ix_ticket_history_ticket", "tenant_id", "ticket_id", "id"),)
