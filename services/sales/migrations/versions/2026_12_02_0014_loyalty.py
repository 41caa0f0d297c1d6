"""Loyalty accounts, rules and point movements: each tenant's loyalty policy, each customer's account (the row a
redemption locks), the movements of points (earned lots with their expiry day, redemptions, expiries), and the
loyalty discount an order's total was reduced by.

Revision ID: sales_0014
Revises: sales_0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "sales_0014"
down_revision = "sales_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_policies",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("earning_rules", JsonType, nullable=False),
        sa.Column("point_value", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("expiry_months", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "loyalty_accounts",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "loyalty_movements",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(60), nullable=False),
        sa.Column("invoice_id", sa.Uuid()),
        sa.Column("order_id", sa.Uuid()),
        sa.Column("remaining", sa.BigInteger()),
        sa.Column("expires_on", sa.Date()),
        sa.Column("details", JsonType),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ux_loyalty_movements_tenant_source", "loyalty_movements", ["tenant_id", "source"], unique=True)
    op.create_index("ix_loyalty_movements_tenant_customer", "loyalty_movements", ["tenant_id", "customer_id", "id"])
    op.create_index("ix_loyalty_movements_open_lots", "loyalty_movements", ["expires_on"],
                    postgresql_where=sa.text("remaining > 0"), sqlite_where=sa.text("remaining > 0"))
    op.add_column("orders", sa.Column("loyalty_discount", sa.Numeric(20, 4)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("loyalty_discount")
    op.drop_index("ix_loyalty_movements_open_lots", table_name="loyalty_movements")
    op.drop_index("ix_loyalty_movements_tenant_customer", table_name="loyalty_movements")
    op.drop_index("ux_loyalty_movements_tenant_source", table_name="loyalty_movements")
    op.drop_table("loyalty_movements")
    op.drop_table("loyalty_accounts")
    op.drop_table("loyalty_policies")
