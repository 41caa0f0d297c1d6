"""Satisfaction (CSAT): a request per resolution of a ticket, and its one answer.

Revision ID: service_desk_0008
Revises: service_desk_0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "service_desk_0008"
down_revision = "service_desk_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("queued_at", UtcDateTime()),
    )
    op.create_index("ix_satisfaction_requests_resolution", "satisfaction_requests",
                    ["tenant_id", "ticket_id", "resolution"], unique=True)
    op.create_index("ix_satisfaction_requests_pending", "satisfaction_requests", ["queued_at", "requested_at"])
    op.create_table(
        "satisfaction_answers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("rated_by", sa.String(200), nullable=False),
        sa.Column("queue_id", sa.Uuid()),
        sa.Column("assignee_id", sa.Uuid()),
        sa.Column("rated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_satisfaction_answers_resolution", "satisfaction_answers",
                    ["tenant_id", "ticket_id", "resolution"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_satisfaction_answers_resolution", table_name="satisfaction_answers")
    op.drop_table("satisfaction_answers")
    op.drop_index("ix_satisfaction_requests_pending", table_name="satisfaction_requests")
    op.drop_index("ix_satisfaction_requests_resolution", table_name="satisfaction_requests")
    op.drop_table("satisfaction_requests")
