"""The customer timeline (every interaction from every service) and the view's group link.

Revision ID: customer_0002
Revises: customer_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "customer_0002"
down_revision = "customer_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("resource", sa.String(300), nullable=True),
        sa.Column("original_customer_id", sa.Uuid(), nullable=True),
    )
    op.create_index("ix_timeline_customer", "timeline_entries", ["customer_id", "event_id"])
    with op.batch_alter_table("customer_views") as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("removed_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Uuid(), nullable=True))
        batch.create_index("ix_customer_views_parent_id", ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("customer_views") as batch:
        batch.drop_index("ix_customer_views_parent_id")
        batch.drop_column("parent_id")
        batch.drop_column("removed_at")
        batch.drop_column("merged_into")
    op.drop_table("timeline_entries")
