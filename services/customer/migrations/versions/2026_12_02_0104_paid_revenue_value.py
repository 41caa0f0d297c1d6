"""Value tiers that follow paid revenue: each customer's paid revenue as the sales service last
reported it (with that report's sequence, so a late or redelivered one changes nothing), and the
tenant's choice of what value adds to the opening balance: ``paid_revenue`` or ``won_deals``.

Tenants that already have classification settings keep ranking on won deals, as they did
until now (their tiers do not move under them); a tenant's first settings, and a tenant
without any, rank on paid revenue.

Revision ID: customer_0104
Revises: customer_0103
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, SequenceType

revision = "customer_0104"
down_revision = "customer_0103"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("paid_revenue", JsonType, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("paid_revenue_sequence", SequenceType, nullable=True))
    with op.batch_alter_table("classification_settings") as batch:
        batch.add_column(sa.Column("value_basis", sa.String(20), nullable=False, server_default="paid_revenue"))
    op.execute("UPDATE classification_settings SET value_basis = 'won_deals'")


def downgrade() -> None:
    with op.batch_alter_table("classification_settings") as batch:
        batch.drop_column("value_basis")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("paid_revenue_sequence")
        batch.drop_column("paid_revenue")
