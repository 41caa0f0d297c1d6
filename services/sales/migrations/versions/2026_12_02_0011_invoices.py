"""Invoices with their gap-free document counters, payments with their allocations, and credit notes.

Revision ID: sales_0011
Revises: sales_0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "sales_0011"
down_revision = "sales_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("written_off", sa.Numeric(20, 4), nullable=False),
        sa.Column("write_off_reason", sa.String(500)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_invoices_tenant_id", "invoices", ["tenant_id", "id"])
    op.create_index("ux_invoices_tenant_number", "invoices", ["tenant_id", "number"], unique=True)
    op.create_index("ux_invoices_tenant_order", "invoices", ["tenant_id", "order_id"], unique=True)
    op.create_index("ix_invoices_tenant_customer_status", "invoices", ["tenant_id", "customer_id", "status", "due_on"])
    op.create_table(
        "document_counters",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("series", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_payments_tenant_id", "payments", ["tenant_id", "id"])
    op.create_index("ix_payments_tenant_customer", "payments", ["tenant_id", "customer_id", "id"])
    op.create_table(
        "payment_allocations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
    )
    op.create_index("ix_payment_allocations_invoice", "payment_allocations", ["tenant_id", "invoice_id"])
    op.create_index("ix_payment_allocations_payment", "payment_allocations", ["tenant_id", "payment_id"])
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("return_id", sa.Uuid()),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_credit_notes_tenant_id", "credit_notes", ["tenant_id", "id"])
    op.create_index("ix_credit_notes_tenant_invoice", "credit_notes", ["tenant_id", "invoice_id"])
    op.create_index("ux_credit_notes_tenant_number", "credit_notes", ["tenant_id", "number"], unique=True)
    op.create_index("ux_credit_notes_tenant_return", "credit_notes", ["tenant_id", "return_id"], unique=True)


def downgrade() -> None:
    for table in ("credit_notes", "payment_allocations", "payments", "document_counters", "invoices"):
        op.drop_table(table)
