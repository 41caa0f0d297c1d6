"""The catalogue: products, price books with their entries, and each tenant's pricing policy.

Revision ID: sales_0005
Revises: sales_0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "sales_0005"
down_revision = "sales_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(300)),
        sa.Column("description", sa.String(2000)),
        sa.Column("cost_amount", sa.Numeric(20, 4)),
        sa.Column("cost_currency", sa.String(3)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("components", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_products_tenant_id", "products", ["tenant_id", "id"])
    op.create_index("ux_products_tenant_sku", "products", ["tenant_id", "sku"], unique=True)
    op.create_index("ix_products_tenant_category", "products", ["tenant_id", "category"])
    op.create_table(
        "price_books",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("customer_group", sa.String(100)),
        sa.Column("value_tier", sa.String(20)),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date()),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime()),
    )
    op.create_index("ix_price_books_tenant_id", "price_books", ["tenant_id", "id"])
    op.create_index("ix_price_books_tenant_currency", "price_books", ["tenant_id", "currency", "status"])
    op.create_table(
        "price_book_entries",
        sa.Column("price_book_id", sa.Uuid(), sa.ForeignKey("price_books.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("unit_price", sa.Numeric(20, 4), nullable=False),
        sa.Column("min_quantity", sa.Numeric(13, 4), nullable=False),
    )
    op.create_index("ix_price_book_entries_tenant_product", "price_book_entries", ["tenant_id", "product_id"])
    op.create_table(
        "pricing_policies",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("discount_threshold", sa.Numeric(5, 2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("pricing_policies", "price_book_entries", "price_books", "products"):
        op.drop_table(table)
