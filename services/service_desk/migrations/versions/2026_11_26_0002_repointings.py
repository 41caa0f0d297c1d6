"""What merges moved, so that an unmerge can move it back.

Revision ID: service_desk_0002
Revises: service_desk_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

from shared.migrate import create_repointing_table

revision = "service_desk_0002"
down_revision = "service_desk_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_repointing_table()


def downgrade() -> None:
    op.drop_table("customer_repointings")
