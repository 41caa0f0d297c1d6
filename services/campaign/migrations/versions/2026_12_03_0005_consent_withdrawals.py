"""Unsubscribes waiting to be carried to the customer master's consent.

Revision ID: campaign_0005
Revises: campaign_0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "campaign_0005"
down_revision = "campaign_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_withdrawals",
        sa.Column("response_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime()),
        sa.Column("outcome", sa.String(20)),
        sa.Column("last_error", sa.String(500)),
    )
    op.create_index("ix_consent_withdrawals_due", "consent_withdrawals", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("consent_withdrawals")
