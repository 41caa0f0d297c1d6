"""Leads, their history, the customers' match keys, scoring rules; sales teams, members and routing rules.

Revision ID: sales_0007
Revises: sales_0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "sales_0007"
down_revision = "sales_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("campaign_id", sa.Uuid()),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(40)),
        sa.Column("company", sa.String(200)),
        sa.Column("given_name", sa.String(200)),
        sa.Column("family_name", sa.String(200)),
        sa.Column("country", sa.String(2)),
        sa.Column("region", sa.String(100)),
        sa.Column("industry", sa.String(100)),
        sa.Column("employees", sa.Integer()),
        sa.Column("email_key", sa.String(320)),
        sa.Column("phone_key", sa.String(40)),
        sa.Column("domain_key", sa.String(255)),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("score_reasons", JsonType, nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("last_engaged_at", UtcDateTime()),
        sa.Column("team", sa.String(100)),
        sa.Column("owner", sa.String(200)),
        sa.Column("queued_at", UtcDateTime()),
        sa.Column("assigned_at", UtcDateTime()),
        sa.Column("first_touch_due_at", UtcDateTime()),
        sa.Column("touched_at", UtcDateTime()),
        sa.Column("overdue_at", UtcDateTime()),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("opportunity_id", sa.Uuid()),
        sa.Column("reason", sa.String(500)),
        sa.Column("history_steps", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_leads_tenant_id", "leads", ["tenant_id", "id"])
    op.create_index("ix_leads_tenant_email_key", "leads", ["tenant_id", "email_key"])
    op.create_index("ix_leads_tenant_phone_key", "leads", ["tenant_id", "phone_key"])
    op.create_index("ix_leads_tenant_domain_key", "leads", ["tenant_id", "domain_key"])
    op.create_index("ix_leads_tenant_customer", "leads", ["tenant_id", "customer_id"])
    op.create_index("ix_leads_tenant_team_owner", "leads", ["tenant_id", "team", "owner", "status"])
    op.create_index("ix_leads_tenant_team_queued", "leads", ["tenant_id", "team", "queued_at"])
    op.create_index("ix_leads_first_touch_due", "leads", ["first_touch_due_at"])
    op.create_table(
        "lead_history",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("details", JsonType, nullable=False),
    )
    op.create_index("ix_lead_history_tenant_lead", "lead_history", ["tenant_id", "lead_id", "step"])
    op.create_table(
        "lead_customer_keys",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_lead_customer_keys_lookup", "lead_customer_keys", ["tenant_id", "kind", "value"])
    op.create_table(
        "lead_scoring_rules",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("rules", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "sales_teams",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("strategy", sa.String(20), nullable=False),
        sa.Column("first_touch_minutes", sa.Integer()),
        sa.Column("last_owner", sa.String(200)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_sales_teams_tenant_name"),
    )
    op.create_index("ix_sales_teams_tenant_id", "sales_teams", ["tenant_id", "id"])
    op.create_table(
        "sales_team_members",
        sa.Column("team_id", sa.Uuid(), primary_key=True),
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("conditions", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_routing_rules_tenant_position", "routing_rules", ["tenant_id", "position", "id"])


def downgrade() -> None:
    for table in ("routing_rules", "sales_team_members", "sales_teams", "lead_scoring_rules", "lead_customer_keys",
                  "lead_history", "leads"):
        op.drop_table(table)
