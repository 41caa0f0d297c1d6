"""The customer master, the unified view and the platform tables.

Revision ID: customer_0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime
from shared.migrate import create_platform_tables

revision = "customer_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("display_name", sa.String(300), nullable=False),
        sa.Column("given_name", sa.String(200)),
        sa.Column("family_name", sa.String(200)),
        sa.Column("organization_name", sa.String(200)),
        sa.Column("emails", JsonType, nullable=False),
        sa.Column("phones", JsonType, nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("region", sa.String(100)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("deleted_at", UtcDateTime()),
    )
    op.create_index("ix_customers_tenant_id", "customers", ["tenant_id", "id"])
    op.create_index("ix_customers_tenant_country", "customers", ["tenant_id", "country"])
    op.create_index("ix_customers_tenant_region", "customers", ["tenant_id", "region"])
    op.create_table(
        "customer_views",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("profile", JsonType),
        sa.Column("kpis", JsonType, nullable=False),
        sa.Column("source_sequences", JsonType, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "view_facts",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("entity", sa.String(40), primary_key=True),
        sa.Column("entity_id", sa.String(100), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("state", JsonType, nullable=False),
    )
    op.create_index("ix_view_facts_customer", "view_facts", ["customer_id"])


def downgrade() -> None:
    for table in ("view_facts", "customer_views", "customers", "idempotency_keys", "processed_events", "outbox"):
        op.drop_table(table)
