"""SLA policies, business calendars and each ticket's SLA state.

- ``sla_calendars``: working hours per weekday in an IANA zone, holidays;
- ``sla_policies``: match, calendar, target minutes, warning lead, escalation; chosen by position;
- ``ticket_slas``: one row per ticket with a policy, indexed by ``next_check_at`` so the check job finds
  the rows it has to look at without a scan. Existing tickets get theirs on their next change.

Revision ID: service_desk_0005
Revises: service_desk_0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.db import JsonType, UtcDateTime

revision = "service_desk_0005"
down_revision = "service_desk_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("working_hours", JsonType, nullable=False),
        sa.Column("holidays", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_sla_calendars_tenant", "sla_calendars", ["tenant_id", "id"])
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("match", JsonType, nullable=False),
        sa.Column("calendar_id", sa.Uuid(), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("warning_minutes", sa.Integer(), nullable=False),
        sa.Column("escalation", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_sla_policies_tenant_position", "sla_policies", ["tenant_id", "position", "id"])
    op.create_index("ix_sla_policies_tenant_calendar", "sla_policies", ["tenant_id", "calendar_id"])
    op.create_table(
        "ticket_slas",
        sa.Column("ticket_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("first_response_due", UtcDateTime(), nullable=True),
        sa.Column("next_response_due", UtcDateTime(), nullable=True),
        sa.Column("resolution_due", UtcDateTime(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("pending", JsonType, nullable=False),
        sa.Column("warned", JsonType, nullable=False),
        sa.Column("breached", JsonType, nullable=False),
        sa.Column("next_check_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_ticket_slas_next_check", "ticket_slas", ["next_check_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_slas_next_check", table_name="ticket_slas")
    op.drop_table("ticket_slas")
    op.drop_index("ix_sla_policies_tenant_calendar", table_name="sla_policies")
    op.drop_index("ix_sla_policies_tenant_position", table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_index("ix_sla_calendars_tenant", table_name="sla_calendars")
    op.drop_table("sla_calendars")
