"""Orders with their status history and returns, and each tenant's sales policy (currency, default credit
limit, invoicing moment, payment terms).

Revision ID: sales_0010
Revises: sales_0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "sales_0010"
down_revision = "sales_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_policies",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("default_credit_limit", sa.Numeric(20, 4)),
        sa.Column("invoice_from", sa.String(10), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.Numeric(20, 4), nullable=False),
        sa.Column("lines", JsonType, nullable=False),
        sa.Column("credit", JsonType),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_orders_tenant_id", "orders", ["tenant_id", "id"])
    op.create_index("ix_orders_tenant_customer_status", "orders", ["tenant_id", "customer_id", "status"])
    op.create_index("ix_orders_tenant_opportunity", "orders", ["tenant_id", "opportunity_id"])
    op.create_table(
        "order_status_changes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("changed_by", sa.String(200)),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("details", JsonType),
    )
    op.create_index("ix_order_status_changes_order", "order_status_changes", ["tenant_id", "order_id", "id"])
    op.create_table(
        "order_returns",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("lines", JsonType, nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(500)),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_order_returns_order", "order_returns", ["tenant_id", "order_id", "id"])


def downgrade() -> None:
    for table in ("order_returns", "order_status_changes", "orders", "sales_policies"):
        op.drop_table(table)
