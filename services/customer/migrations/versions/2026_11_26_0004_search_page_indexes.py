"""Search indexes that end in the id, so "filter + next page in id order" is one index range scan.

Revision ID: customer_0004
Revises: customer_0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "customer_0004"
down_revision = "customer_0003"
branch_labels = None
depends_on = None

# name -> (columns before, columns after)
CHANGED: dict[str, tuple[list[str], list[str]]] = {
    "ix_customers_tenant_country": (["tenant_id", "country"], ["tenant_id", "country", "id"]),
    "ix_customers_tenant_region": (["tenant_id", "region"], ["tenant_id", "region", "id"]),
    "ix_customers_tenant_industry": (["tenant_id", "industry"], ["tenant_id", "industry", "id"]),
    "ix_customers_tenant_owner": (["tenant_id", "owner"], ["tenant_id", "owner", "id"]),
    "ix_customers_tenant_parent": (["tenant_id", "parent_id"], ["tenant_id", "parent_id", "id"]),
    "ix_customers_tenant_organization": (["tenant_id", "organization_id"], ["tenant_id", "organization_id", "id"]),
    "ix_customers_tenant_tier": (["tenant_id", "value_tier"], ["tenant_id", "value_tier", "id"]),
    "ix_customers_tenant_classification": (["tenant_id", "customer_group", "value_tier"],
                                           ["tenant_id", "customer_group", "id"]),
}


def upgrade() -> None:
    for name, (_, after) in CHANGED.items():
        op.drop_index(name, "customers")
        op.create_index(name, "customers", after)


def downgrade() -> None:
    for name, (before, _) in CHANGED.items():
        op.drop_index(name, "customers")
        op.create_index(name, "customers", before)
