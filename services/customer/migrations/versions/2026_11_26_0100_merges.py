"""Merges (snapshots, choices, provenance) and erasures (audit), and the customers' erasure marker.

Revision ID: customer_0100
Revises: customer_0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "customer_0100"
down_revision = "customer_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("erased_at", UtcDateTime(), nullable=True))
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_ids", JsonType, nullable=False),
        sa.Column("snapshots", JsonType, nullable=False),
        sa.Column("result", JsonType, nullable=False),
        sa.Column("choices", JsonType, nullable=False),
        sa.Column("consent", JsonType, nullable=False),
        sa.Column("provenance", JsonType, nullable=False),
        sa.Column("merged_at", UtcDateTime(), nullable=False),
        sa.Column("merged_by", sa.String(200), nullable=False),
        sa.Column("undone_at", UtcDateTime(), nullable=True),
        sa.Column("undone_by", sa.String(200), nullable=True),
        sa.Column("erased_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_customer_merges_survivor", "customer_merges", ["tenant_id", "survivor_id", "merged_at"])
    op.create_table(
        "customer_erasures",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("erased_ids", JsonType, nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("customer_erasures")
    op.drop_index("ix_customer_merges_survivor", "customer_merges")
    op.drop_table("customer_merges")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("erased_at")
