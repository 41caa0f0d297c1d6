"""The routing tables: sales teams, their members and the ordered routing rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class SalesTeam(Base):
    __tablename__ = "sales_teams"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    strategy: Mapped[str] = mapped_column(String(20))
    first_touch_minutes: Mapped[int | None]
    # Round-robin: the member who got the team's last lead; the next one in order is next.
    last_owner: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("tenant_id", "name", name="uq_sales_teams_tenant_name"),
        Index("ix_sales_teams_tenant_id", "tenant_id", "id"),
    )


class TeamMember(Base):
    __tablename__ = "sales_team_members"

    team_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int]
    available: Mapped[bool]


class RoutingRule(Base):
    """Leads matching every condition given go to ``team``; an empty condition matches any lead."""

    __tablename__ = "routing_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    team: Mapped[str] = mapped_column(String(100))
    conditions: Mapped[dict[str, Any]]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_routing_rules_tenant_position", "tenant_id", "position", "id"),)
