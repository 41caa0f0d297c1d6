"""Business calendars, SLA policies and each ticket's SLA as last recomputed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.service_desk.database import Base
from shared.db import JsonType


class SlaCalendar(Base):
    """Working hours per weekday in one IANA zone, and whole days off."""

    __tablename__ = "sla_calendars"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    # {"mon": [{"start": "09:00", "end": "17:00"}], ...}
    working_hours: Mapped[dict[str, Any]] = mapped_column(JsonType)
    # ISO dates, sorted.
    holidays: Mapped[list[str]] = mapped_column(JsonType)
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_sla_calendars_tenant", "tenant_id", "id"),)


class SlaPolicy(Base):
    """Targets for the tickets it matches; the lowest position that matches wins."""

    __tablename__ = "sla_policies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    # {value_tiers, customer_groups, priorities, types}: lists, empty or absent is any.
    match: Mapped[dict[str, Any]] = mapped_column(JsonType)
    calendar_id: Mapped[uuid.UUID]
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    warning_minutes: Mapped[int] = mapped_column(Integer)
    # {raise_priority, move_to_queue_id, notify_manager}
    escalation: Mapped[dict[str, Any]] = mapped_column(JsonType)
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_sla_policies_tenant_position", "tenant_id", "position", "id"),
        Index("ix_sla_policies_tenant_calendar", "tenant_id", "calendar_id"),
    )


class TicketSlaRow(Base):
    """One ticket's SLA, written by every recompute: the policy, the due times, the state, the running targets
    still to report (``pending``), what was already warned or breached, and when the job next has to look."""

    __tablename__ = "ticket_slas"

    ticket_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    policy_id: Mapped[uuid.UUID]
    first_response_due: Mapped[datetime | None]
    next_response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(10))
    # [{"target", "key", "due"}] of the targets whose clock runs and is not met.
    pending: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    # Target keys already reported ("first_response", "resolution", "next_response@<customer reply time>").
    warned: Mapped[list[str]] = mapped_column(JsonType)
    breached: Mapped[list[str]] = mapped_column(JsonType)
    # The earliest warning or breach still to report; None when nothing runs.
    next_check_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_ticket_slas_next_check", "next_check_at"),)
