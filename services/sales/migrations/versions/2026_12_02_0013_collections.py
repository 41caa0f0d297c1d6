"""Dunning levels per tenant and each overdue invoice's dunning step (collections).

- ``sales_policies.dunning_levels``: the tenant's ordered levels ``[{offset_days, action}]``;
  NULL (every existing policy): the defaults (``collections.rules.DEFAULT_LEVELS``).
- ``invoice_dunning``: per invoice, the level it has reached (position, offset, action), on
  which day, and whether it holds the customer's new orders. No row: no level reached yet.
  Nothing is backfilled: the collections job brings every open invoice to its level on its
  next run (straight to the highest one due, so nothing is sent twice).
- ``ix_invoices_tenant_status_due``: the collections list walks a tenant's open invoices
  oldest due first by it.

Revision ID: sales_0013
Revises: sales_0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "sales_0013"
down_revision = "sales_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sales_policies") as batch:
        batch.add_column(sa.Column("dunning_levels", JsonType))
    op.create_table(
        "invoice_dunning",
        sa.Column("invoice_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("holds_orders", sa.Boolean(), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_invoice_dunning_tenant_action", "invoice_dunning", ["tenant_id", "action"])
    op.create_index("ix_invoices_tenant_status_due", "invoices", ["tenant_id", "status", "due_on", "id"])


def downgrade() -> None:
    op.drop_index("ix_invoices_tenant_status_due", table_name="invoices")
    op.drop_index("ix_invoice_dunning_tenant_action", table_name="invoice_dunning")
    op.drop_table("invoice_dunning")
    with op.batch_alter_table("sales_policies") as batch:
        batch.drop_column("dunning_levels")
