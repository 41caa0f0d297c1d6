"""Audiences and the membership each holds now.

Revision ID: campaign_0006
Revises: campaign_0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "campaign_0006"
down_revision = "campaign_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audiences",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rules", JsonType),
        sa.Column("static_customer_ids", JsonType, nullable=False),
        sa.Column("clock_dependent", sa.Boolean(), nullable=False),
        sa.Column("evaluated_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_audiences_tenant_id", "audiences", ["tenant_id", "id"])
    op.create_table(
        "audience_members",
        sa.Column("audience_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_audience_members_customer", "audience_members", ["customer_id"])


def downgrade() -> None:
    op.drop_table("audience_members")
    op.drop_table("audiences")
