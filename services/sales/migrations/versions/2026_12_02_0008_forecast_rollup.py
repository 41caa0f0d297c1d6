"""The forecast's rollup of counted deals, the tenants it is built for, and each deal's customer region.

Every tenant that already has deals is marked as waiting for its rollup: the sales worker's
build job sums its deals once (the region column is filled by the same build), and until
then its forecasts read the deals themselves.

Revision ID: sales_0008
Revises: sales_0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "sales_0008"
down_revision = "sales_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("opportunities", sa.Column("region", sa.String(100)))
    op.create_table(
        "forecast_rollup",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("dimension", sa.String(10), primary_key=True),
        sa.Column("segment_start", sa.Date(), primary_key=True),
        sa.Column("group_value", sa.String(200), primary_key=True),
        sa.Column("currency", sa.String(3), primary_key=True),
        sa.Column("status", sa.String(10), primary_key=True),
        sa.Column("category", sa.String(20), primary_key=True),
        sa.Column("probability", sa.Integer(), primary_key=True),
        sa.Column("amount", sa.Numeric(30, 4), nullable=False),
        sa.Column("opportunities", sa.Integer(), nullable=False),
    )
    op.create_table(
        "forecast_rollup_states",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("built_at", UtcDateTime()),
    )
    op.execute("INSERT INTO forecast_rollup_states (tenant_id) SELECT DISTINCT tenant_id FROM opportunities")


def downgrade() -> None:
    op.drop_table("forecast_rollup_states")
    op.drop_table("forecast_rollup")
    op.drop_column("opportunities", "region")
