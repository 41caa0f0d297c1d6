"""Campaign sends, suppressed addresses, frequency caps; responses name the send they came from.

Revision ID: campaign_0008
Revises: campaign_0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "campaign_0008"
down_revision = "campaign_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_sends",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("variant", sa.String(60)),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(300)),
        sa.Column("address", sa.String(320)),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_until", UtcDateTime()),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("member_id", name="uq_campaign_sends_member"),
        sa.UniqueConstraint("message_id", name="uq_campaign_sends_message_id"),
    )
    op.create_index("ix_campaign_sends_campaign", "campaign_sends", ["campaign_id", "member_id"])
    op.create_index("ix_campaign_sends_due", "campaign_sends", ["campaign_id", "status", "next_attempt_at"])
    op.create_index("ix_campaign_sends_contacts", "campaign_sends", ["tenant_id", "customer_id", "channel", "sent_at"])
    op.create_index("ix_campaign_sends_recent", "campaign_sends", ["tenant_id", "sent_at"])
    op.create_table(
        "suppressed_addresses",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(10), primary_key=True),
        sa.Column("address_hash", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("send_id", sa.Uuid()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "frequency_caps",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(10), primary_key=True),
        sa.Column("max_contacts", sa.Integer(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    with op.batch_alter_table("campaign_responses") as table:
        table.add_column(sa.Column("send_id", sa.Uuid()))
        table.create_unique_constraint("uq_campaign_responses_send_kind", ["send_id", "kind"])


def downgrade() -> None:
    with op.batch_alter_table("campaign_responses") as table:
        table.drop_constraint("uq_campaign_responses_send_kind", type_="unique")
        table.drop_column("send_id")
    op.drop_table("frequency_caps")
    op.drop_table("suppressed_addresses")
    op.drop_table("campaign_sends")
