"""Copies of sales' leads, opportunities and exchange rates, for the report's attribution and the simulation.

Revision ID: campaign_0009
Revises: campaign_0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "campaign_0009"
down_revision = "campaign_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_outcomes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("campaign_id", sa.Uuid()),
        sa.Column("opportunity_id", sa.Uuid()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_lead_outcomes_customer", "lead_outcomes", ["tenant_id", "customer_id"])
    op.create_index("ix_lead_outcomes_campaign", "lead_outcomes", ["campaign_id"])
    op.create_table(
        "opportunity_outcomes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("won_at", UtcDateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_opportunity_outcomes_customer", "opportunity_outcomes", ["tenant_id", "customer_id"])
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("rate", sa.Numeric(24, 10), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
    )
    op.create_index("ix_exchange_rates_pair", "exchange_rates", ["tenant_id", "base", "quote", "valid_from"])


def downgrade() -> None:
    op.drop_table("exchange_rates")
    op.drop_table("opportunity_outcomes")
    op.drop_table("lead_outcomes")
