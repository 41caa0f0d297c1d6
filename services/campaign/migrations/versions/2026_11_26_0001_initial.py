"""Campaigns, members, the customer-view replica and the platform tables.

Revision ID: campaign_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime
from shared.migrate import create_customer_replica_table, create_platform_tables

revision = "campaign_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    create_customer_replica_table()
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("budget_amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("budget_currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("starts_on", sa.Date()),
        sa.Column("ends_on", sa.Date()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_campaigns_tenant_id", "campaigns", ["tenant_id", "id"])
    op.create_table(
        "campaign_members",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_members_campaign_customer"),
    )
    op.create_index("ix_campaign_members_campaign", "campaign_members", ["campaign_id", "id"])
    op.create_index("ix_campaign_members_customer", "campaign_members", ["tenant_id", "customer_id"])


def downgrade() -> None:
    for table in ("campaign_members", "campaigns", "customer_replicas", "idempotency_keys", "processed_events", "outbox"):
        op.drop_table(table)
