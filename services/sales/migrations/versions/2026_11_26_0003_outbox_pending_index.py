"""The outbox relay's pending rows get an index of their own (see shared.migrate.index_pending_outbox).

Revision ID: sales_0003
Revises: sales_0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from shared.migrate import index_pending_outbox, unindex_pending_outbox

revision = "sales_0003"
down_revision = "sales_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    index_pending_outbox()


def downgrade() -> None:
    unindex_pending_outbox()
