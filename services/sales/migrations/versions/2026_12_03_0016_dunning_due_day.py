"""The due day of each dunned invoice, kept with its dunning state, so that collections filtered by the level
reached walk an index of that level in due order instead of every older invoice.

Revision ID: sales_0016
Revises: sales_0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sales_0016"
down_revision = "sales_0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoice_dunning") as table:
        table.add_column(sa.Column("due_on", sa.Date()))
    op.execute("UPDATE invoice_dunning SET due_on = (SELECT invoices.due_on FROM invoices "
               "WHERE invoices.id = invoice_dunning.invoice_id AND invoices.tenant_id = invoice_dunning.tenant_id)")
    with op.batch_alter_table("invoice_dunning") as table:
        table.alter_column("due_on", existing_type=sa.Date(), nullable=False)
    op.drop_index("ix_invoice_dunning_tenant_action", table_name="invoice_dunning")
    op.create_index("ix_invoice_dunning_tenant_action_due", "invoice_dunning",
                    ["tenant_id", "action", "due_on", "invoice_id"])


def downgrade() -> None:
    op.drop_index("ix_invoice_dunning_tenant_action_due", table_name="invoice_dunning")
    op.create_index("ix_invoice_dunning_tenant_action", "invoice_dunning", ["tenant_id", "action"])
    with op.batch_alter_table("invoice_dunning") as table:
        table.drop_column("due_on")
