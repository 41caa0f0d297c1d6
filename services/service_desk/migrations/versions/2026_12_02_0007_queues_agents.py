"""Queues with their routing rules, agents with skills, capacity and availability.

- ``queues``: name (unique per tenant), position and match (the routing rule: first match by position, then
  id), required skills, assignment strategy and round-robin's cursor (the agent given the last ticket).
- ``agents`` (manager e-mail for escalations, skills, languages, capacity, availability, when last given a
  ticket) and ``agent_queues`` (which queues each agent works).

Revision ID: service_desk_0007
Revises: service_desk_0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "service_desk_0007"
down_revision = "service_desk_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("match", JsonType, nullable=False),
        sa.Column("required_skills", JsonType, nullable=False),
        sa.Column("assignment", sa.String(20), nullable=False),
        sa.Column("last_agent_id", sa.Uuid()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_queues_tenant_name"),
    )
    op.create_index("ix_queues_tenant_id", "queues", ["tenant_id", "id"])
    op.create_index("ix_queues_tenant_position", "queues", ["tenant_id", "position", "id"])
    op.create_table(
        "agents",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("manager_email", sa.String(320)),
        sa.Column("skills", JsonType, nullable=False),
        sa.Column("languages", JsonType, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("last_assigned_at", UtcDateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_agents_tenant_id", "agents", ["tenant_id", "id"])
    op.create_table(
        "agent_queues",
        sa.Column("agent_id", sa.Uuid(), primary_key=True),
        sa.Column("queue_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_agent_queues_queue", "agent_queues", ["tenant_id", "queue_id", "agent_id"])


def downgrade() -> None:
    op.drop_table("agent_queues")
    op.drop_table("agents")
    op.drop_table("queues")
