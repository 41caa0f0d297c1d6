"""The e-mail channel: Message-IDs sent and received, attachments, the outgoing mail queue, and the
customers' e-mail addresses (the sender lookup), filled from the view replica already held.

Revision ID: service_desk_0006
Revises: service_desk_0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "service_desk_0006"
down_revision = "service_desk_0005"
branch_labels = None
depends_on = None

replicas = sa.table("customer_replicas", sa.column("customer_id", sa.Uuid()), sa.column("tenant_id", sa.String()),
                    sa.column("view", JsonType))
addresses = sa.table("mail_customer_addresses", sa.column("customer_id", sa.Uuid()),
                     sa.column("address", sa.String()), sa.column("tenant_id", sa.String()))


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_mail_messages_tenant_message", "mail_messages", ["tenant_id", "message_id"])
    op.create_index("ix_mail_messages_ticket", "mail_messages", ["tenant_id", "ticket_id", "created_at"])
    op.create_table(
        "mail_attachments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("comment_id", sa.Uuid()),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_mail_attachments_ticket", "mail_attachments", ["tenant_id", "ticket_id", "id"])
    op.create_table(
        "mail_outgoing",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid()),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(998)),
        sa.Column("thread_references", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
    )
    op.create_index("ix_mail_outgoing_due", "mail_outgoing", ["status", "next_attempt_at"])
    op.create_table(
        "mail_customer_addresses",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_mail_customer_addresses_lookup", "mail_customer_addresses", ["tenant_id", "address"])
    _backfill_addresses()


def _backfill_addresses() -> None:
    """The replica already holds views: their addresses, so senders are found without a replay."""
    bind = op.get_bind()
    rows: list[dict[str, Any]] = []
    for customer_id, tenant, view in bind.execute(sa.select(replicas.c.customer_id, replicas.c.tenant_id,
                                                            replicas.c.view)):
        emails = ((view or {}).get("profile") or {}).get("emails") or []
        found = {str(e.get("address", "")).strip().lower() for e in emails if isinstance(e, dict)}
        rows.extend({"customer_id": customer_id, "address": a, "tenant_id": tenant}
                    for a in sorted(found) if "@" in a and len(a) <= 320)
        if len(rows) >= 1000:
            bind.execute(addresses.insert(), rows)
            rows = []
    if rows:
        bind.execute(addresses.insert(), rows)


def downgrade() -> None:
    op.drop_table("mail_customer_addresses")
    op.drop_table("mail_outgoing")
    op.drop_table("mail_attachments")
    op.drop_table("mail_messages")
