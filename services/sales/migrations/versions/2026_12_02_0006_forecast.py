"""Dated exchange rates, and the opportunities of a tenant by expected close date (the forecast's window).

Revision ID: sales_0006
Revises: sales_0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "sales_0006"
down_revision = "sales_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("rate", sa.Numeric(24, 10), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ux_exchange_rates_pair_day", "exchange_rates", ["tenant_id", "base", "quote", "valid_from"],
                    unique=True)
    op.create_index("ix_exchange_rates_tenant_id", "exchange_rates", ["tenant_id", "id"])
    op.create_index("ix_opportunities_tenant_close_date", "opportunities", ["tenant_id", "expected_close_date"])


def downgrade() -> None:
    op.drop_index("ix_opportunities_tenant_close_date", table_name="opportunities")
    op.drop_table("exchange_rates")
