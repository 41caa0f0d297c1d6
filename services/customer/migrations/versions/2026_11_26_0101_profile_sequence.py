"""The sequence each view's profile came from, so the newest profile wins in any read order.

Revision ID: customer_0101
Revises: customer_0100
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "customer_0101"
down_revision = "customer_0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_views") as batch:
        batch.add_column(sa.Column("profile_sequence", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_views") as batch:
        batch.drop_column("profile_sequence")
