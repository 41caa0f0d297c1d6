"""Opportunities, the customer-view replica and the platform tables.

Revision ID: sales_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime
from shared.migrate import create_customer_replica_table, create_platform_tables

revision = "sales_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    create_customer_replica_table()
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stage", sa.String(30), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("expected_close_date", sa.Date()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime()),
    )
    op.create_index("ix_opportunities_tenant_id", "opportunities", ["tenant_id", "id"])
    op.create_index("ix_opportunities_tenant_customer", "opportunities", ["tenant_id", "customer_id"])


def downgrade() -> None:
    for table in ("opportunities", "customer_replicas", "idempotency_keys", "processed_events", "outbox"):
        op.drop_table(table)
