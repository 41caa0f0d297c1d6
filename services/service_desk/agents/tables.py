"""The agents table and which queues each agent works."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.service_desk.database import Base
from shared.db import JsonType


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # Who an SLA escalation notifies about this agent's tickets.
    manager_email: Mapped[str | None] = mapped_column(String(320))
    skills: Mapped[list[str]] = mapped_column(JsonType)
    # BCP 47 tags, lower case; empty: the agent takes tickets in any language.
    languages: Mapped[list[str]] = mapped_column(JsonType)
    # At most this many open (not resolved or closed) tickets at once.
    capacity: Mapped[int]
    available: Mapped[bool]
    # Least-loaded's tie-break: among agents with as few open tickets, the one waiting longest goes first.
    last_assigned_at: Mapped[datetime | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_agents_tenant_id", "tenant_id", "id"),)


class AgentQueue(Base):
    """The agent works the queue: takes its tickets."""

    __tablename__ = "agent_queues"

    agent_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    queue_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_agent_queues_queue", "tenant_id", "queue_id", "agent_id"),)
