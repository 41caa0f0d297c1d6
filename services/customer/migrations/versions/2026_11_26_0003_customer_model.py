"""The full customer model: hierarchy, addresses, size, language, money, tags, custom fields,
search columns and keys, classification settings and consent.

Revision ID: customer_0003
Revises: customer_0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, SequenceType, UtcDateTime

revision = "customer_0003"
down_revision = "customer_0002"
branch_labels = None
depends_on = None

NEW_INDEXES: dict[str, list[str]] = {
    "ix_customers_tenant_name": ["tenant_id", "name_search", "id"],
    "ix_customers_tenant_created": ["tenant_id", "created_at", "id"],
    "ix_customers_tenant_updated": ["tenant_id", "updated_at", "id"],
    "ix_customers_tenant_industry": ["tenant_id", "industry"],
    "ix_customers_tenant_owner": ["tenant_id", "owner"],
    "ix_customers_tenant_parent": ["tenant_id", "parent_id"],
    "ix_customers_tenant_organization": ["tenant_id", "organization_id"],
    "ix_customers_tenant_classification": ["tenant_id", "customer_group", "value_tier"],
    "ix_customers_tenant_tier": ["tenant_id", "value_tier"],
}


def _search_name(text: str) -> str:
    # A frozen copy of the rule at the time of this revision (migrations never import moving code).
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    search_type = sa.String(300, collation="C") if postgres else sa.String(300)
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("name_search", search_type, nullable=True))
        batch.add_column(sa.Column("addresses", JsonType, nullable=True))
        batch.add_column(sa.Column("industry", sa.String(100)))
        batch.add_column(sa.Column("employees", sa.Integer()))
        batch.add_column(sa.Column("annual_revenue", JsonType))
        batch.add_column(sa.Column("preferred_language", sa.String(35)))
        batch.add_column(sa.Column("preferred_currency", sa.String(3)))
        batch.add_column(sa.Column("owner", sa.String(200)))
        batch.add_column(sa.Column("tags", JsonType, nullable=True))
        batch.add_column(sa.Column("custom_fields", JsonType, nullable=True))
        batch.add_column(sa.Column("credit_limit", JsonType))
        batch.add_column(sa.Column("lifetime_value_amount", sa.Numeric(20, 4), nullable=True))
        batch.add_column(sa.Column("lifetime_value_currency", sa.String(3)))
        batch.add_column(sa.Column("parent_id", sa.Uuid()))
        batch.add_column(sa.Column("organization_id", sa.Uuid()))
        batch.add_column(sa.Column("organization_role", sa.String(100)))
        batch.add_column(sa.Column("external_id", sa.String(200)))
        batch.add_column(sa.Column("customer_group", sa.String(100)))
        batch.add_column(sa.Column("value_tier", sa.String(20)))
        batch.add_column(sa.Column("merged_into", sa.Uuid()))

    op.create_table(
        "customer_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
    )
    _backfill(bind)

    with op.batch_alter_table("customers") as batch:
        for column in ("name_search", "addresses", "tags", "custom_fields", "lifetime_value_amount"):
            batch.alter_column(column, nullable=False)
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "customers", columns)
    op.create_index("uq_customers_tenant_external_id", "customers", ["tenant_id", "external_id"], unique=True)
    if postgres:
        _trigram_index(bind)

    op.create_table(
        "custom_field_definitions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("choices", JsonType),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "classification_settings",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("rules", JsonType, nullable=False),
        sa.Column("default_group", sa.String(100), nullable=False),
        sa.Column("tiers", JsonType, nullable=False),
        sa.Column("cutoffs", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("evaluated_at", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("wording", sa.Text()),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "consent_history",
        sa.Column("sequence", SequenceType, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("previous_status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("wording", sa.Text()),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_consent_history_customer", "consent_history", ["customer_id", "sequence"])


def _backfill(bind: sa.Connection) -> None:
    customers = sa.table(
        "customers", sa.column("id", sa.Uuid()), sa.column("tenant_id", sa.String()), sa.column("display_name", sa.String()),
        sa.column("emails", JsonType), sa.column("phones", JsonType), sa.column("name_search", sa.String()),
        sa.column("addresses", JsonType), sa.column("tags", JsonType), sa.column("custom_fields", JsonType),
        sa.column("lifetime_value_amount", sa.Numeric()),
    )
    keys = sa.table("customer_keys", sa.column("tenant_id", sa.String()), sa.column("kind", sa.String()),
                    sa.column("value", sa.String()), sa.column("customer_id", sa.Uuid()))
    rows = bind.execute(sa.select(customers.c.id, customers.c.tenant_id, customers.c.display_name,
                                  customers.c.emails, customers.c.phones)).all()
    for row in rows:
        bind.execute(customers.update().where(customers.c.id == row.id).values(
            name_search=_search_name(row.display_name), addresses=[], tags=[], custom_fields={}, lifetime_value_amount=0))
        found = {("email", e["address"].strip().lower()) for e in row.emails or []}
        found |= {("phone", re.sub(r"\D", "", p["number"])) for p in row.phones or []}
        if found:
            bind.execute(keys.insert(), [{"tenant_id": row.tenant_id, "kind": k, "value": v, "customer_id": row.id}
                                         for k, v in sorted(found)])


def _trigram_index(bind: sa.Connection) -> None:
    """``name_contains`` on PostgreSQL: a trigram index, if the server lets us install pg_trgm."""
    try:
        # A savepoint: a refusal rolls back only these two statements, not the migration.
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            bind.execute(sa.text(
                "CREATE INDEX ix_customers_name_trgm ON customers USING gin (name_search gin_trgm_ops)"))
    except sa.exc.DBAPIError:
        pass  # without the extension, contains-search still works, by scanning the tenant's rows


def downgrade() -> None:
    for table in ("consent_history", "consents", "classification_settings", "custom_field_definitions", "customer_keys"):
        op.drop_table(table)
    op.execute("DROP INDEX IF EXISTS ix_customers_name_trgm")
    op.drop_index("uq_customers_tenant_external_id", "customers")
    for name in NEW_INDEXES:
        op.drop_index(name, "customers")
    with op.batch_alter_table("customers") as batch:
        for column in ("name_search", "addresses", "industry", "employees", "annual_revenue", "preferred_language",
                       "preferred_currency", "owner", "tags", "custom_fields", "credit_limit", "lifetime_value_amount",
                       "lifetime_value_currency", "parent_id", "organization_id", "organization_role", "external_id",
                       "customer_group", "value_tier", "merged_into"):
            batch.drop_column(column)
