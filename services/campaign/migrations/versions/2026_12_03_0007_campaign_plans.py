"""Campaign plans: objective, owner, audience, A/B variants and their test, launch; members' variants; costs.

The old ``active`` status is the new ``running``.

Revision ID: campaign_0007
Revises: campaign_0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "campaign_0007"
down_revision = "campaign_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as table:
        table.add_column(sa.Column("objective", sa.String(500)))
        table.add_column(sa.Column("owner", sa.String(100)))
        table.add_column(sa.Column("audience_id", sa.Uuid()))
        table.add_column(sa.Column("variants", JsonType, nullable=False, server_default="[]"))
        table.add_column(sa.Column("test_share", sa.Integer()))
        table.add_column(sa.Column("winner_metric", sa.String(20)))
        table.add_column(sa.Column("test_window_hours", sa.Integer()))
        table.add_column(sa.Column("winner", sa.String(60)))
        table.add_column(sa.Column("winner_chosen_at", UtcDateTime()))
        table.add_column(sa.Column("winner_reason", sa.String(500)))
        table.add_column(sa.Column("launched_at", UtcDateTime()))
        table.add_column(sa.Column("spent_amount", sa.Numeric(20, 4), nullable=False, server_default="0"))
    op.execute("UPDATE campaigns SET status = 'running' WHERE status = 'active'")
    with op.batch_alter_table("campaign_members") as table:
        table.add_column(sa.Column("variant", sa.String(60)))
    op.create_table(
        "campaign_costs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_campaign_costs_campaign", "campaign_costs", ["campaign_id", "incurred_on", "id"])


def downgrade() -> None:
    op.drop_table("campaign_costs")
    with op.batch_alter_table("campaign_members") as table:
        table.drop_column("variant")
    op.execute("UPDATE campaigns SET status = 'active' WHERE status IN ('scheduled', 'running')")
    with op.batch_alter_table("campaigns") as table:
        for column in ("spent_amount", "launched_at", "winner_reason", "winner_chosen_at", "winner", "test_window_hours",
                       "winner_metric", "test_share", "variants", "audience_id", "owner", "objective"):
            table.drop_column(column)
