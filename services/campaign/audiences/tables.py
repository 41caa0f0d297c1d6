"""The audiences table and the membership each one holds now."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.campaign.database import Base


class Audience(Base):
    """Who a campaign aims at: customers matching rules over the view, and customers named one by one."""

    __tablename__ = "audiences"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    rules: Mapped[dict[str, Any] | None]
    static_customer_ids: Mapped[list[Any]]
    # Whether a rule reads the clock (days since the last contact): such an audience is also refreshed by a job.
    clock_dependent: Mapped[bool]
    evaluated_at: Mapped[datetime]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_audiences_tenant_id", "tenant_id", "id"),)


class AudienceMember(Base):
    """A customer an audience holds now (by its rules or its static list)."""

    __tablename__ = "audience_members"

    audience_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime]

    __table_args__ = (Index("ix_audience_members_customer", "customer_id"),)
