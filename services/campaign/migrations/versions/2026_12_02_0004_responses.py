"""Campaign responses: what each customer did with a campaign.

Revision ID: campaign_0004
Revises: campaign_0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "campaign_0004"
down_revision = "campaign_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_responses",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("variant", sa.String(100)),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_campaign_responses_campaign", "campaign_responses", ["campaign_id", "id"])
    op.create_index("ix_campaign_responses_customer", "campaign_responses", ["tenant_id", "customer_id"])


def downgrade() -> None:
    op.drop_table("campaign_responses")
