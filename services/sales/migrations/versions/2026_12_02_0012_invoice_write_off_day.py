"""The day an invoice was written off, so receivables as of an earlier day still count what the write-off closed.

Invoices written off before this revision get the day of their last change: a written-off
invoice is final (no payment or credit note touches it again), so that change was the write-off.

Revision ID: sales_0012
Revises: sales_0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "sales_0012"
down_revision = "sales_0011"
branch_labels = None
depends_on = None

invoices = sa.table("invoices", sa.column("id", sa.Uuid()), sa.column("status", sa.String()),
                    sa.column("updated_at", UtcDateTime()), sa.column("written_off_on", sa.Date()))


def upgrade() -> None:
    op.add_column("invoices", sa.Column("written_off_on", sa.Date()))
    connection = op.get_bind()
    # Read and written in Python: a timestamp's date is spelled differently by SQLite and PostgreSQL, and
    # written-off invoices are few.
    for invoice_id, updated_at in connection.execute(
            sa.select(invoices.c.id, invoices.c.updated_at).where(invoices.c.status == "written_off")).all():
        connection.execute(invoices.update().where(invoices.c.id == invoice_id).values(
            written_off_on=updated_at.date()))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("written_off_on")
