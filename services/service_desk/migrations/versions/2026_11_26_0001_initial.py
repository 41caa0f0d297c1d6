"""Tickets, the customer-view replica and the platform tables.

Revision ID: service_desk_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime
from shared.migrate import create_customer_replica_table, create_platform_tables

revision = "service_desk_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    create_customer_replica_table()
    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("solved_at", UtcDateTime()),
    )
    op.create_index("ix_tickets_tenant_id", "tickets", ["tenant_id", "id"])
    op.create_index("ix_tickets_tenant_customer", "tickets", ["tenant_id", "customer_id"])
    op.create_index("ix_tickets_tenant_status", "tickets", ["tenant_id", "status"])


def downgrade() -> None:
    for table in ("tickets", "customer_replicas", "idempotency_keys", "processed_events", "outbox"):
        op.drop_table(table)
