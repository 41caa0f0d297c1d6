"""The queues table: each queue's routing rule (position and match), required skills and assignment strategy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.service_desk.database import Base
from shared.db import JsonType


class Queue(Base):
    """A new ticket goes to the first queue (by position, then id) whose ``match`` it meets."""

    __tablename__ = "queues"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    # {types, channels, languages, product_ids, value_tiers}: lists; an absent or empty one matches any ticket.
    match: Mapped[dict[str, Any]] = mapped_column(JsonType)
    required_skills: Mapped[list[str]] = mapped_column(JsonType)
    assignment: Mapped[str] = mapped_column(String(20))  # round_robin | least_loaded
    # Round-robin's cursor: the agent who got this queue's last ticket; the next one in id order is next.
    last_agent_id: Mapped[uuid.UUID | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_queues_tenant_name"),
        Index("ix_queues_tenant_id", "tenant_id", "id"),
        Index("ix_queues_tenant_position", "tenant_id", "position", "id"),
    )
