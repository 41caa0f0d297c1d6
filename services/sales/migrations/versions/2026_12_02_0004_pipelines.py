"""Pipelines: each tenant's stages, the stage history of deals, and deals' owner, team, lines, category and reasons.

Existing deals take the forecast category and probability of their stage (the six stages
every tenant had, which stay its defaults until it configures its own).

Revision ID: sales_0004
Revises: sales_0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "sales_0004"
down_revision = "sales_0003"
branch_labels = None
depends_on = None

# The stages deals had before tenants configured their own: (category, probability).
DEFAULTS = {"prospecting": ("pipeline", 10), "qualification": ("pipeline", 20), "proposal": ("best_case", 50),
            "negotiation": ("commit", 75), "closed_won": ("closed", 100), "closed_lost": ("omitted", 0)}


def upgrade() -> None:
    op.create_table(
        "pipeline_stages",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("forecast_category", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime()),
    )
    op.create_table(
        "opportunity_stage_changes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(50)),
        sa.Column("to_stage", sa.String(50), nullable=False),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("changed_by", sa.String(200)),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_opportunity_stage_changes_opportunity", "opportunity_stage_changes",
                    ["tenant_id", "opportunity_id", "id"])
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("forecast_category", sa.String(20)))
        batch.add_column(sa.Column("probability", sa.Integer()))
        batch.add_column(sa.Column("owner", sa.String(200)))
        batch.add_column(sa.Column("team", sa.String(100)))
        batch.add_column(sa.Column("close_reason", sa.String(500)))
        batch.add_column(sa.Column("competitor", sa.String(200)))
        batch.add_column(sa.Column("lines", JsonType))
    _denormalise_stages()
    with op.batch_alter_table("opportunities") as batch:
        batch.alter_column("forecast_category", existing_type=sa.String(20), nullable=False)
        batch.alter_column("probability", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("stage", existing_type=sa.String(30), type_=sa.String(50), existing_nullable=False)
    op.create_index("ix_opportunities_tenant_stage", "opportunities", ["tenant_id", "stage", "status"])
    op.create_index("ix_opportunities_tenant_owner", "opportunities", ["tenant_id", "owner", "id"])
    op.create_index("ix_opportunities_tenant_team", "opportunities", ["tenant_id", "team", "id"])


def _denormalise_stages() -> None:
    opportunities = sa.table("opportunities", sa.column("stage", sa.String()),
                             sa.column("forecast_category", sa.String()), sa.column("probability", sa.Integer()))
    stage = opportunities.c.stage
    op.execute(opportunities.update().values(
        forecast_category=sa.case({name: category for name, (category, _) in DEFAULTS.items()}, value=stage,
                                  else_="pipeline"),
        probability=sa.case({name: probability for name, (_, probability) in DEFAULTS.items()}, value=stage,
                            else_=0)))


def downgrade() -> None:
    for index in ("ix_opportunities_tenant_team", "ix_opportunities_tenant_owner", "ix_opportunities_tenant_stage"):
        op.drop_index(index, table_name="opportunities")
    with op.batch_alter_table("opportunities") as batch:
        batch.alter_column("stage", existing_type=sa.String(50), type_=sa.String(30), existing_nullable=False)
        for column in ("lines", "competitor", "close_reason", "team", "owner", "probability", "forecast_category"):
            batch.drop_column(column)
    op.drop_table("opportunity_stage_changes")
    op.drop_table("pipeline_stages")
