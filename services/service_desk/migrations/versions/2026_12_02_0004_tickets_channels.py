"""Tickets grow into the service desk's work item: the vocabularies of the contract, queue and assignee,
tags, references to an order or a product, the e-mail requester, merging, a token to quote, and two
tables of their own (comments, history).

- Status ``pending`` becomes ``pending_customer`` and ``solved`` becomes ``resolved`` (``solved_at``
  is renamed ``resolved_at``; a resolved or closed ticket counts one resolution). Channels ``social``
  become ``chat`` and ``in_person`` become ``visit``.
- **Backfill**: each ticket's token is the last twelve hex digits of its id (its random bits); tags are empty; each
  existing ticket gets a ``created`` history entry at its creation time, so its SLA clock has a start.

Revision ID: service_desk_0004
Revises: service_desk_0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, SequenceType, UtcDateTime

revision = "service_desk_0004"
down_revision = "service_desk_0003"
branch_labels = None
depends_on = None

tickets = sa.table(
    "tickets", sa.column("id", sa.Uuid()), sa.column("tenant_id", sa.String()), sa.column("status", sa.String()),
    sa.column("channel", sa.String()), sa.column("token", sa.String()), sa.column("tags", JsonType),
    sa.column("resolutions", sa.Integer()), sa.column("created_at", UtcDateTime()),
    sa.column("closed_at", UtcDateTime()), sa.column("updated_at", UtcDateTime()))
history = sa.table(
    "ticket_history", sa.column("tenant_id", sa.String()), sa.column("ticket_id", sa.Uuid()),
    sa.column("at", UtcDateTime()), sa.column("action", sa.String()), sa.column("actor", sa.String()),
    sa.column("details", JsonType))

# Old value -> new value, as of this revision.
_STATUSES = {"pending": "pending_customer", "solved": "resolved"}
_CHANNELS = {"social": "chat", "in_person": "visit"}


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("status", type_=sa.String(20), existing_type=sa.String(10), existing_nullable=False)
        batch.alter_column("solved_at", new_column_name="resolved_at")
        batch.add_column(sa.Column("token", sa.String(16)))
        batch.add_column(sa.Column("language", sa.String(35)))
        batch.add_column(sa.Column("queue_id", sa.Uuid()))
        batch.add_column(sa.Column("assignee_id", sa.Uuid()))
        batch.add_column(sa.Column("tags", JsonType))
        batch.add_column(sa.Column("order_id", sa.String(64)))
        batch.add_column(sa.Column("product_id", sa.String(64)))
        batch.add_column(sa.Column("requester_email", sa.String(320)))
        batch.add_column(sa.Column("merged_into_id", sa.Uuid()))
        batch.add_column(sa.Column("closed_at", UtcDateTime()))
        batch.add_column(sa.Column("resolutions", sa.Integer(), nullable=False, server_default="0"))
    _backfill()
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("token", existing_type=sa.String(16), nullable=False)
        batch.alter_column("tags", existing_type=JsonType, nullable=False)
    op.create_index("ix_tickets_tenant_token", "tickets", ["tenant_id", "token"], unique=True)
    op.create_index("ix_tickets_tenant_queue", "tickets", ["tenant_id", "queue_id", "status"])
    op.create_index("ix_tickets_tenant_assignee", "tickets", ["tenant_id", "assignee_id", "status"])
    op.create_table(
        "ticket_comments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("visibility", sa.String(10), nullable=False),
        sa.Column("author_type", sa.String(10), nullable=False),
        sa.Column("author_id", sa.Uuid()),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("author_email", sa.String(320)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_ticket_comments_ticket", "ticket_comments", ["tenant_id", "ticket_id", "created_at"])
    op.create_table(
        "ticket_history",
        sa.Column("id", SequenceType, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("details", JsonType, nullable=False),
    )
    op.create_index("ix_ticket_history_ticket", "ticket_history", ["tenant_id", "ticket_id", "id"])
    _backfill_history()


def _backfill() -> None:
    bind = op.get_bind()
    for old, new in _STATUSES.items():
        bind.execute(tickets.update().where(tickets.c.status == old).values(status=new))
    for old, new in _CHANNELS.items():
        bind.execute(tickets.update().where(tickets.c.channel == old).values(channel=new))
    bind.execute(tickets.update().where(tickets.c.status.in_(("resolved", "closed"))).values(resolutions=1))
    bind.execute(tickets.update().where(tickets.c.status == "closed").values(closed_at=tickets.c.updated_at))
    for (ticket_id,) in bind.execute(sa.select(tickets.c.id)).all():
        bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(token=ticket_id.hex[-12:], tags=[]))


def _backfill_history() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(tickets.c.tenant_id, tickets.c.id, tickets.c.created_at)).all()
    if rows:
        bind.execute(history.insert(), [
            {"tenant_id": tenant, "ticket_id": ticket_id, "at": created_at, "action": "created",
             "actor": "migration", "details": {}} for tenant, ticket_id, created_at in rows])


def downgrade() -> None:
    op.drop_table("ticket_history")
    op.drop_table("ticket_comments")
    op.drop_index("ix_tickets_tenant_assignee", "tickets")
    op.drop_index("ix_tickets_tenant_queue", "tickets")
    op.drop_index("ix_tickets_tenant_token", "tickets")
    bind = op.get_bind()
    for old, new in _STATUSES.items():
        bind.execute(tickets.update().where(tickets.c.status == new).values(status=old))
    bind.execute(tickets.update().where(tickets.c.status == "pending_third_party").values(status="pending"))
    for old, new in _CHANNELS.items():
        bind.execute(tickets.update().where(tickets.c.channel == new).values(channel=old))
    with op.batch_alter_table("tickets") as batch:
        for name in ("resolutions", "closed_at", "merged_into_id", "requester_email", "product_id", "order_id",
                     "tags", "assignee_id", "queue_id", "language", "token"):
            batch.drop_column(name)
        batch.alter_column("resolved_at", new_column_name="solved_at")
        batch.alter_column("status", type_=sa.String(10), existing_type=sa.String(20), existing_nullable=False)
