"""Satisfaction requests (one per resolution of a ticket, e-mailed by a job) and their one answer each."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.service_desk.database import Base


class SatisfactionRequest(Base):
    """A resolution the customer is asked to rate. Written when the ticket is resolved; the request job signs
    the link and queues the e-mail (``queued_at``), because only the job holds the signing secret."""

    __tablename__ = "satisfaction_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    resolution: Mapped[int] = mapped_column(Integer)
    # Where the request goes: the requester, else the customer's e-mail in the view replica; none: not sent.
    email: Mapped[str | None] = mapped_column(String(320))
    requested_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_satisfaction_requests_resolution", "tenant_id", "ticket_id", "resolution", unique=True),
        Index("ix_satisfaction_requests_pending", "queued_at", "requested_at"),
    )


class SatisfactionAnswer(Base):
    """A customer's rating of one resolution (1-5); the unique index makes a second answer impossible."""

    __tablename__ = "satisfaction_answers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    resolution: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    # link (the customer's signed link) or api (an agent recording an answer given on the phone).
    via: Mapped[str] = mapped_column(String(10))
    rated_by: Mapped[str] = mapped_column(String(200))
    # The ticket's queue and assignee when it was rated: whom the rating speaks of.
    queue_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    rated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_satisfaction_answers_resolution", "tenant_id", "ticket_id", "resolution", unique=True),
    )
