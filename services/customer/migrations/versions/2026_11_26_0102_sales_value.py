"""Value tiers that follow sales: the deals the sales service reports, each customer's sales
figures and ranked value, the tenant's value currency with its exchange rates, and what
the last ranking saw.

Existing customers start with no won deals; their ranked value is their lifetime value,
as it was ranked until now.

Revision ID: customer_0102
Revises: customer_0101
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, SequenceType, UtcDateTime

revision = "customer_0102"
down_revision = "customer_0101"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("won_deals", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("won_value", JsonType, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("last_won_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("value_amount", sa.Numeric(20, 4), nullable=False, server_default="0"))
    op.execute("UPDATE customers SET value_amount = lifetime_value_amount WHERE lifetime_value_amount IS NOT NULL")
    with op.batch_alter_table("classification_settings") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("exchange_rates", JsonType, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("ranked_population", JsonType, nullable=True))
    op.create_table(
        "customer_deals",
        sa.Column("opportunity_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("won_at", UtcDateTime(), nullable=True),
        sa.Column("sequence", SequenceType, nullable=False),
    )
    op.create_index("ix_customer_deals_customer", "customer_deals", ["tenant_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_deals_customer", "customer_deals")
    op.drop_table("customer_deals")
    with op.batch_alter_table("classification_settings") as batch:
        batch.drop_column("ranked_population")
        batch.drop_column("exchange_rates")
        batch.drop_column("currency")
    with op.batch_alter_table("customers") as batch:
        for column in ("value_amount", "last_won_at", "won_value", "won_deals"):
            batch.drop_column(column)
