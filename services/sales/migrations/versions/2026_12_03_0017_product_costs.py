"""Cost prices by the day they took effect, so that profitability costs a sale at the price of its day.

Each product's current cost price becomes its first row, valid from 2000-01-01: before this history was
kept, the one known cost is the best there is for every earlier day.

Revision ID: sales_0017
Revises: sales_0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "sales_0017"
down_revision = "sales_0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_costs",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("valid_from", sa.Date(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("cost_amount", sa.Numeric(20, 4)),
        sa.Column("cost_currency", sa.String(3)),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.execute("INSERT INTO product_costs (product_id, valid_from, tenant_id, cost_amount, cost_currency, recorded_at) "
               "SELECT id, '2000-01-01', tenant_id, cost_amount, cost_currency, updated_at FROM products "
               "WHERE cost_amount IS NOT NULL")


def downgrade() -> None:
    op.drop_table("product_costs")
